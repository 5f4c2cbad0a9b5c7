"""Read a curve CSV with columns t_h (hours after injection) and value (one unit per file)."""

from __future__ import annotations

import csv
import io

from quant.pk.errors import PkInputError

REQUIRED = ("t_h", "value")


def read_curve_csv(text: str) -> tuple[list[float], list[float]]:
    """(times, values); refuses a missing column or a cell that is not a number (naming the line)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = [f.strip() for f in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        raise PkInputError(f"CSV needs columns t_h and value; missing {', '.join(missing)} (found {fields})")
    times: list[float] = []
    values: list[float] = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not row.get("t_h") and not row.get("value"):
            continue
        try:
            times.append(float(row["t_h"]))
            values.append(float(row["value"]))
        except ValueError:
            raise PkInputError(f"line {line}: t_h and value must be numbers") from None
    return times, values
