"""Read small numeric CSV tables for the MRI fitting commands (no Django)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from quant.errors import QuantInputError


def read_numeric_columns(path: str | Path, columns: tuple[str, ...]) -> dict[str, NDArray[np.float64]]:
    """Return the named columns as float arrays; one-line QuantInputError on any problem."""
    p = Path(path)
    if not p.is_file():
        raise QuantInputError(f"{p}: file not found")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise QuantInputError(f"{p}: not a readable CSV file ({exc})") from None
    if not header:
        raise QuantInputError(f"{p}: empty file")
    missing = [c for c in columns if c not in header]
    if missing:
        raise QuantInputError(f"{p}: missing column(s) {', '.join(missing)}; found {', '.join(header)}")
    if not rows:
        raise QuantInputError(f"{p}: no data rows")
    out: dict[str, list[float]] = {c: [] for c in columns}
    for line_no, row in enumerate(rows, start=2):
        clean = {(k or "").strip(): v for k, v in row.items()}
        for c in columns:
            out[c].append(_number(clean.get(c), p, line_no, c))
    return {c: np.array(v) for c, v in out.items()}


def _number(raw: str | None, path: Path, line_no: int, column: str) -> float:
    try:
        value = float((raw or "").strip())
    except ValueError:
        raise QuantInputError(f"{path}: line {line_no}, column {column}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise QuantInputError(f"{path}: line {line_no}, column {column}: {raw!r} is not a finite number")
    return value
