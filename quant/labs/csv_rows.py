"""The ``ctcae_lab_grade`` CSV: columns test, value, unit, lln, uln, baseline, sex (the last four may be empty)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from quant.labs.grading import LabGrade, LabGradeError, grade, lab_input

REQUIRED_COLUMNS = ("test", "value", "unit")
OPTIONAL_COLUMNS = ("lln", "uln", "baseline", "sex")


def grade_csv_text(text: str) -> list[LabGrade]:
    """Grade every row; LabGradeError names the line of the first unusable row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise LabGradeError(
            f"CSV header lacks column(s) {', '.join(missing)}; expected {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    results = []
    for line, raw in enumerate(reader, start=2):
        cells = {(k or "").strip().lower(): (v or "") for k, v in raw.items() if k is not None}
        if not any(str(v).strip() for v in cells.values()):
            continue
        try:
            row = lab_input(**{c: cells.get(c, "") for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS})
            results.append(grade(row))
        except LabGradeError as exc:
            raise LabGradeError(f"line {line}: {exc}") from exc
    return results


def grade_csv_file(path: str | Path) -> list[LabGrade]:
    source = Path(path)
    if not source.is_file():
        raise LabGradeError(f"CSV file not found: {source}")
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LabGradeError(f"{source.name} is not UTF-8 text") from exc
    return grade_csv_text(text)
