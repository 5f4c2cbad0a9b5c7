"""Row-by-row CSV encoding for streamed responses (pure; no Django)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from trial.csv_safety import safe_cell


class _Line:
    """File-like sink that hands back what csv.writer wrote."""

    def __init__(self) -> None:
        self.value = ""

    def write(self, text: str) -> int:
        self.value = text
        return len(text)


def cell(value: Any) -> Any:
    """The CSV cell of a value (as the COPY path writes it; formula-like text escaped by safe_cell)."""
    if isinstance(value, str):
        return safe_cell(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return (
            value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value.tzinfo else value.isoformat()
        )
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def stream_csv(header: list[str], rows: Iterable[tuple], batch: int = 500) -> Iterator[bytes]:
    """Yield UTF-8 CSV bytes: the header, then rows in batches (bounded memory)."""
    sink = _Line()
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow(header)
    yield sink.value.encode()
    buffer: list[str] = []
    for row in rows:
        writer.writerow([cell(v) for v in row])
        buffer.append(sink.value)
        if len(buffer) >= batch:
            yield "".join(buffer).encode()
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode()
