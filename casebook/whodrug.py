"""Load a drug dictionary file (format: casebook/data/whodrug/README.md) into WhoDrugEntry, idempotently."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from casebook.models import WhoDrugEntry

SAMPLE = Path(__file__).resolve().parent / "data" / "whodrug" / "sample_demo.csv"
COLUMNS = ("drug_code", "drug_name", "atc_code", "atc_text")
ATC = re.compile(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$")


class DrugFileError(ValueError):
    """The dictionary file is missing or malformed (one line, naming the row)."""


@dataclass(frozen=True)
class DrugLoad:
    created: int
    updated: int
    unchanged: int


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DrugFileError(f"file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DrugFileError(f"{path.name} is not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    header = [c.strip() for c in reader.fieldnames or []]
    if header[:2] != ["drug_code", "drug_name"] or not set(header) <= set(COLUMNS):
        raise DrugFileError(
            f"{path.name}: expected the columns {', '.join(COLUMNS)}; found {', '.join(header)}"
        )
    rows, seen = [], set()
    for line, raw in enumerate(reader, start=2):
        row = {c: (raw.get(c) or "").strip() for c in COLUMNS}
        if not row["drug_code"] or not row["drug_name"]:
            raise DrugFileError(f"{path.name} line {line}: drug_code and drug_name are required")
        row["atc_code"] = row["atc_code"].upper()
        if row["atc_code"] and not ATC.match(row["atc_code"]):
            raise DrugFileError(f"{path.name} line {line}: {row['atc_code']!r} is not an ATC code")
        if row["drug_code"] in seen:
            raise DrugFileError(f"{path.name} line {line}: drug code {row['drug_code']} appears twice")
        seen.add(row["drug_code"])
        rows.append(row)
    return rows


@transaction.atomic
def load(path: Path = SAMPLE) -> DrugLoad:
    """Create or update every row of the file (nothing is deleted); running it twice changes nothing."""
    rows = read_rows(path)
    existing = {
        e.drug_code: e for e in WhoDrugEntry.objects.filter(drug_code__in=[r["drug_code"] for r in rows])
    }
    created = updated = 0
    for row in rows:
        entry = existing.get(row["drug_code"])
        fields = {k: row[k] for k in ("drug_name", "atc_code", "atc_text")} | {"source": path.name}
        if entry is None:
            WhoDrugEntry.objects.create(drug_code=row["drug_code"], **fields)
            created += 1
        elif any(getattr(entry, k) != v for k, v in fields.items()):
            WhoDrugEntry.objects.filter(pk=entry.pk).update(**fields)
            updated += 1
    return DrugLoad(created, updated, len(rows) - created - updated)
