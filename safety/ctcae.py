"""Read the shipped CTCAE v5.0 CSV and load it into CtcaeTerm, idempotently."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
CTCAE_V5_CSV = DATA_DIR / "ctcae_v5" / "ctcae_v5.csv"
COLUMNS = [
    "meddra_code",
    "soc",
    "term",
    "grade1",
    "grade2",
    "grade3",
    "grade4",
    "grade5",
    "definition",
    "navigational_note",
]
TEXT_FIELDS = COLUMNS[1:]


class DictionaryFileError(ValueError):
    """The dictionary file is missing or malformed."""


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    unchanged: int


def read_rows(path: Path = CTCAE_V5_CSV) -> list[dict[str, Any]]:
    """Rows of the CSV as dicts (meddra_code as int, order = source row), checked for shape."""
    if not path.exists():
        raise DictionaryFileError(f"CTCAE file not found: {path}")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            raise DictionaryFileError(f"{path.name}: expected columns {COLUMNS}, found {reader.fieldnames}")
        rows = []
        for i, raw in enumerate(reader, start=2):
            if not raw["meddra_code"].isdigit() or not raw["term"] or not raw["soc"]:
                raise DictionaryFileError(f"{path.name} line {i}: MedDRA code, SOC and term are required.")
            rows.append({**raw, "meddra_code": int(raw["meddra_code"]), "order": i - 1})
    return rows


def load_terms(model: Any, *, version: str = "5.0", path: Path = CTCAE_V5_CSV) -> LoadResult:
    """Create or update every term of `version` from `path`; running it twice changes nothing."""
    rows = read_rows(path)
    existing = {t.meddra_code: t for t in model.objects.filter(version=version)}
    to_create, to_update = [], []
    for row in rows:
        current = existing.get(row["meddra_code"])
        if current is None:
            to_create.append(model(version=version, **row))
            continue
        if any(getattr(current, f) != row[f] for f in [*TEXT_FIELDS, "order"]):
            for f in [*TEXT_FIELDS, "order"]:
                setattr(current, f, row[f])
            to_update.append(current)
    model.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        model.objects.bulk_update(to_update, [*TEXT_FIELDS, "order"], batch_size=500)
    return LoadResult(len(to_create), len(to_update), len(rows) - len(to_create) - len(to_update))


@lru_cache(maxsize=1)
def shipped_term_count() -> int:
    return len(read_rows())


def is_loaded() -> bool:
    from safety.models import CtcaeTerm

    return CtcaeTerm.objects.filter(version="5.0").count() == shipped_term_count()


def load() -> LoadResult:
    from safety.models import CtcaeTerm

    return load_terms(CtcaeTerm)
