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


# --- Term search: synonyms, abbreviations and British spellings a coordinator types -------------------------

# A whole query (or one of its words) on the left finds the CTCAE v5.0 terms on the right, first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "neutropenia": ("Neutrophil count decreased", "Febrile neutropenia"),
    "anc": ("Neutrophil count decreased",),
    "neutrophils": ("Neutrophil count decreased",),
    "thrombocytopenia": ("Platelet count decreased",),
    "plt": ("Platelet count decreased",),
    "platelets": ("Platelet count decreased",),
    "leukopenia": ("White blood cell decreased",),
    "leucopenia": ("White blood cell decreased",),
    "wbc": ("White blood cell decreased", "Leukocytosis"),
    "lymphopenia": ("Lymphocyte count decreased",),
    "lymphocytosis": ("Lymphocyte count increased",),
    "hb": ("Anemia", "Hemoglobin increased"),
    "hgb": ("Anemia", "Hemoglobin increased"),
    "alt": ("Alanine aminotransferase increased",),
    "sgpt": ("Alanine aminotransferase increased",),
    "ast": ("Aspartate aminotransferase increased",),
    "sgot": ("Aspartate aminotransferase increased",),
    "transaminases": ("Alanine aminotransferase increased", "Aspartate aminotransferase increased"),
    "transaminitis": ("Alanine aminotransferase increased", "Aspartate aminotransferase increased"),
    "hepatitis": ("Hepatic failure", "Alanine aminotransferase increased"),
    "alp": ("Alkaline phosphatase increased",),
    "ggt": ("GGT increased",),
    "bilirubin": ("Blood bilirubin increased",),
    "hyperbilirubinemia": ("Blood bilirubin increased",),
    "jaundice": ("Blood bilirubin increased",),
    "ck": ("CPK increased",),
    "cpk": ("CPK increased",),
    "aki": ("Acute kidney injury", "Creatinine increased"),
    "pneumonia": ("Lung infection",),
    "uti": ("Urinary tract infection",),
    "dvt": ("Thromboembolic event",),
    "pe": ("Thromboembolic event",),
    "embolism": ("Thromboembolic event",),
    "thrombosis": ("Thromboembolic event",),
    "mi": ("Myocardial infarction",),
    "crs": ("Cytokine release syndrome",),
    "irr": ("Infusion related reaction",),
    "rash": ("Rash maculo-papular", "Rash acneiform"),
    "hfs": ("Palmar-plantar erythrodysesthesia syndrome",),
    "tiredness": ("Fatigue",),
    "pyrexia": ("Fever",),
    "oedema": ("Edema limbs", "Edema face", "Edema trunk"),
    "breathlessness": ("Dyspnea",),
    "sob": ("Dyspnea",),
}
BRITISH = {
    "anaem": "anem",
    "haem": "hem",
    "oedem": "edem",
    "oesophag": "esophag",
    "diarrhoea": "diarrhea",
    "leucocyt": "leukocyt",
    "hypokalaem": "hypokalem",
    "hyperkalaem": "hyperkalem",
    "naem": "nem",
    "caem": "cem",
    "glycaem": "glycem",
    "tumour": "tumor",
}
PAGE_SIZE = 25


@dataclass(frozen=True)
class SearchPage:
    terms: list[Any]
    total: int
    offset: int
    limit: int

    @property
    def more(self) -> int:
        return max(0, self.total - self.offset - len(self.terms))

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.terms)


def _american(text: str) -> str:
    for british, american in BRITISH.items():
        text = text.replace(british, american)
    return text


def _words(query: str) -> list[str]:
    return [w for w in query.replace(",", " ").replace("-", " ").split() if w]


def search_terms(terms: Any, query: str, *, offset: int = 0, limit: int = PAGE_SIZE) -> SearchPage:
    """CTCAE terms for a query: synonyms and abbreviations first, then every word found in term or SOC.

    `terms` is the CtcaeTerm queryset of one version. Words are matched anywhere in the term or its SOC
    ("skin other" finds "Skin and subcutaneous tissue disorders - Other, specify"); a MedDRA code prefix
    matches the code. Nothing is cut off silently: the page says how many more there are.
    """
    raw = (query or "").strip().lower()
    if len(raw) < 2:
        return SearchPage([], 0, 0, limit)
    q = _american(raw)
    words = [_american(w) for w in _words(raw)]
    wanted: list[str] = []
    for key in (raw, q, *_words(raw)):
        for name in SYNONYMS.get(key, ()):
            if name not in wanted:
                wanted.append(name)
    rows = list(terms)
    by_synonym = {name.lower(): i for i, name in enumerate(wanted)}

    def matches(t: Any) -> bool:
        if t.term.lower() in by_synonym:
            return True
        if q.isdigit():
            return str(t.meddra_code).startswith(q)
        text = f"{t.term} {t.soc}".lower()
        return all(w in text for w in words)

    def rank(t: Any) -> tuple:
        name = t.term.lower()
        if name in by_synonym:
            return (0, by_synonym[name], name)
        in_term = all(w in name for w in words)
        return (1 if name.startswith(q) else 2 if q in name else 3 if in_term else 4, 0, name)

    found = sorted((t for t in rows if matches(t)), key=rank)
    offset = max(0, offset)
    return SearchPage(found[offset : offset + limit], len(found), offset, limit)
