"""CSV formula-injection escaping (OWASP "CSV Injection"), used by every CSV the system writes.

A text cell that starts with `=`, `+`, `-`, `@`, TAB or CR would be run as a formula by a spreadsheet; it is
written with a leading single quote (`'=HYPERLINK(...)`). Plain numbers (`-1.5`, `+3`, `1e-3`) are left as
they are, so numeric columns stay numeric. `ESCAPE_SQL` does the same inside PostgreSQL (COPY exports).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?")
PLAIN_NUMBER_SQL = "^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"


def safe_cell(value: Any) -> Any:
    """The value, with a leading `'` when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


class SafeWriter:
    """csv.writer whose rows are escaped cell by cell."""

    def __init__(self, fh: Any, *args: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(fh, *args, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(fh: Any, *args: Any, **kwargs: Any) -> SafeWriter:
    return SafeWriter(fh, *args, **kwargs)


def escape_sql(expr: str) -> str:
    """SQL text of `expr` escaped the same way (for PostgreSQL; NULL stays NULL)."""
    text = f"({expr})::text"
    return (
        f"CASE WHEN left({text}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        f"AND {text} !~ '{PLAIN_NUMBER_SQL}' THEN '''' || {text} ELSE {text} END"
    )
