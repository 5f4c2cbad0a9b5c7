"""SDTM-style dataset definitions, term checks and writers (CSV, SAS transport v5, define-like JSON). No Django."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trial.csv_safety import safe_cell

STUDYID = "CD8PET"
NY = ("N", "Y")
TOXGR = ("1", "2", "3", "4", "5")
AEREL_TERMS = ("NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "RELATED")
ACN = ("DOSE NOT CHANGED", "DRUG INTERRUPTED", "DRUG WITHDRAWN", "NOT APPLICABLE", "UNKNOWN")
OUT = (
    "RECOVERED/RESOLVED",
    "RECOVERING/RESOLVING",
    "NOT RECOVERED/NOT RESOLVED",
    "RECOVERED/RESOLVED WITH SEQUELAE",
    "FATAL",
    "UNKNOWN",
)
RECIST_RESP = ("CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD", "iCR", "iPR", "iSD", "iUPD", "iCPD", "iNE")
ISO8601 = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$")


class SdtmError(ValueError):
    """A dataset row breaks its definition (terms, lengths, types, dates)."""


@dataclass(frozen=True)
class Var:
    name: str
    label: str
    type: str = "Char"  # Char | Num
    length: int = 200
    terms: tuple[str, ...] = ()
    core: str = "Perm"  # Req | Exp | Perm
    origin: str = "CRF"
    iso8601: bool = False


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    keys: tuple[str, ...]
    variables: tuple[Var, ...]

    @property
    def columns(self) -> list[str]:
        return [v.name for v in self.variables]


def _ids(domain: str) -> tuple[Var, ...]:
    return (
        Var("STUDYID", "Study Identifier", length=12, core="Req", origin="Assigned"),
        Var("DOMAIN", "Domain Abbreviation", length=2, terms=(domain,), core="Req", origin="Assigned"),
        Var("USUBJID", "Unique Subject Identifier", length=40, core="Req", origin="Derived"),
    )


def _dtc(name: str, label: str) -> Var:
    return Var(name, label, length=20, iso8601=True, core="Exp")


DM = Dataset(
    "DM",
    "Demographics",
    ("STUDYID", "USUBJID"),
    (
        *_ids("DM"),
        Var("SUBJID", "Subject Identifier for the Study", length=16, core="Req"),
        _dtc("RFSTDTC", "Subject Reference Start Date/Time"),
        _dtc("RFICDTC", "Date/Time of Informed Consent"),
        Var("SITEID", "Study Site Identifier", length=8, core="Req"),
        _dtc("BRTHDTC", "Date/Time of Birth"),
        Var("SEX", "Sex", length=1, terms=("M", "F", "U"), core="Req"),
        Var("ARMCD", "Planned Arm Code", length=20, core="Req"),
        Var("ARM", "Description of Planned Arm", length=60, core="Req"),
        Var("ACTARMCD", "Actual Arm Code", length=20, core="Req"),
        Var("ACTARM", "Description of Actual Arm", length=60, core="Req"),
        Var("COUNTRY", "Country", length=3, core="Req"),
        Var("DMSTAT", "Participant Status", length=20),
    ),
)

AE = Dataset(
    "AE",
    "Adverse Events",
    ("STUDYID", "USUBJID", "AESEQ"),
    (
        *_ids("AE"),
        Var("AESEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        Var("AETERM", "Reported Term for the Adverse Event", core="Req"),
        Var("AEDECOD", "Dictionary-Derived Term", core="Req", origin="Assigned"),
        Var("AELLT", "Lowest Level Term", origin="Assigned"),
        Var("AELLTCD", "Lowest Level Term Code", "Num", 8),
        Var("AEBODSYS", "Body System or Organ Class", origin="Assigned", core="Exp"),
        Var("AETOXGR", "Standard Toxicity Grade", length=1, terms=TOXGR, core="Exp"),
        Var("AESER", "Serious Event", length=1, terms=NY, core="Exp"),
        Var("AEREL", "Causality", length=20, terms=AEREL_TERMS, core="Exp"),
        Var("AEACN", "Action Taken with Study Treatment", length=20, terms=ACN, core="Exp"),
        Var("AEOUT", "Outcome of Adverse Event", length=40, terms=OUT),
        Var("AESDTH", "Results in Death", length=1, terms=NY),
        Var("AESLIFE", "Is Life Threatening", length=1, terms=NY),
        Var("AESHOSP", "Requires or Prolongs Hospitalization", length=1, terms=NY),
        Var("AESDISAB", "Persist or Signif Disability/Incapacity", length=1, terms=NY),
        Var("AESCONG", "Congenital Anomaly or Birth Defect", length=1, terms=NY),
        Var("AESMIE", "Other Medically Important Serious Event", length=1, terms=NY),
        _dtc("AESTDTC", "Start Date/Time of Adverse Event"),
        _dtc("AEENDTC", "End Date/Time of Adverse Event"),
        Var("AEENRF", "End Relative to Reference Period", length=10, terms=("ONGOING",)),
    ),
)

SUPP_VARS = (
    Var("STUDYID", "Study Identifier", length=12, core="Req"),
    Var("RDOMAIN", "Related Domain Abbreviation", length=2, core="Req"),
    Var("USUBJID", "Unique Subject Identifier", length=40, core="Req"),
    Var("IDVAR", "Identifying Variable", length=8, core="Exp"),
    Var("IDVARVAL", "Identifying Variable Value", length=40, core="Exp"),
    Var("QNAM", "Qualifier Variable Name", length=8, core="Req"),
    Var("QLABEL", "Qualifier Variable Label", length=40, core="Req"),
    Var("QVAL", "Data Value", core="Req"),
    Var("QORIG", "Origin", length=20, core="Req"),
    Var("QEVAL", "Evaluator", length=20, core="Exp"),
)
SUPPAE = Dataset(
    "SUPPAE", "Supplemental Qualifiers for AE", ("STUDYID", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"), SUPP_VARS
)
SUPPEX = Dataset(
    "SUPPEX", "Supplemental Qualifiers for EX", ("STUDYID", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"), SUPP_VARS
)
SUPPAE_QUALIFIERS = {
    "AERELTRC": "Relationship to 89Zr-Df-crefmirlimab",
    "AERELPET": "Relationship to PET procedure",
    "AERELBX": "Relationship to biopsy",
    "AERELPD1": "Relationship to anti-PD-1 antibody",
    "AECTCV": "CTCAE Version",
    "AEIMMUN": "Immune-Related Adverse Event",
}

EX = Dataset(
    "EX",
    "Exposure",
    ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
    (
        *_ids("EX"),
        Var("EXSEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        Var("EXTRT", "Name of Treatment", length=40, core="Req"),
        Var("EXDOSE", "Dose", "Num", 8, core="Exp"),
        Var("EXDOSU", "Dose Units", length=8, terms=("MBq", "mg"), core="Exp"),
        Var("EXDOSFRM", "Dose Form", length=20, terms=("SOLUTION",), core="Exp"),
        Var("EXROUTE", "Route of Administration", length=20, terms=("INTRAVENOUS",)),
        Var("VISIT", "Visit Name", length=40),
        _dtc("EXSTDTC", "Start Date/Time of Treatment"),
        _dtc("EXENDTC", "End Date/Time of Treatment"),
    ),
)

TU = Dataset(
    "TU",
    "Tumor/Lesion Identification",
    ("STUDYID", "USUBJID", "TULNKID"),
    (
        *_ids("TU"),
        Var("TUSEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        Var("TULNKID", "Link ID", length=16, core="Exp"),
        Var("TUTESTCD", "Tumor/Lesion ID Short Name", length=8, terms=("TUMIDENT",), core="Req"),
        Var("TUTEST", "Tumor/Lesion ID Test Name", length=40, terms=("Tumor Identification",), core="Req"),
        Var(
            "TUORRES", "Tumor/Lesion ID Result", length=12, terms=("TARGET", "NON-TARGET", "NEW"), core="Exp"
        ),
        Var(
            "TUSTRESC", "Tumor/Lesion ID Result Std. Format", length=12, terms=("TARGET", "NON-TARGET", "NEW")
        ),
        Var("TULOC", "Location of the Tumor/Lesion", length=60, core="Exp"),
        Var("TUMETHOD", "Method of Identification", length=20, core="Exp"),
        _dtc("TUDTC", "Date/Time of Tumor ID"),
    ),
)

TR_TESTS = {
    "LDIAM": "Longest Diameter",
    "LPERP": "Longest Perpendicular",
    "SUVMAX": "SUV Maximum",
    "SUVMEAN": "SUV Mean",
    "SUVPEAK": "SUV Peak",
}
TR = Dataset(
    "TR",
    "Tumor/Lesion Results",
    ("STUDYID", "USUBJID", "TRLNKID", "TRTESTCD", "TRDTC"),
    (
        *_ids("TR"),
        Var("TRSEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        Var("TRLNKID", "Link ID", length=16, core="Exp"),
        Var("TRTESTCD", "Tumor/Lesion Assessment Short Name", length=8, terms=tuple(TR_TESTS), core="Req"),
        Var(
            "TRTEST",
            "Tumor/Lesion Assessment Test Name",
            length=40,
            terms=tuple(TR_TESTS.values()),
            core="Req",
        ),
        Var("TRORRES", "Result or Finding in Original Units", length=20, core="Exp"),
        Var("TRORRESU", "Original Units", length=8, terms=("mm", "g/mL")),
        Var("TRSTRESC", "Character Result/Finding in Std Format", length=20, core="Exp"),
        Var("TRSTRESN", "Numeric Result/Finding in Std Units", "Num", 8),
        Var("TRSTRESU", "Standard Units", length=8, terms=("mm", "g/mL")),
        Var("TRSTAT", "Completion Status", length=8, terms=("NOT DONE",)),
        Var("TRMETHOD", "Method Used to Identify the Tumor", length=20),
        _dtc("TRDTC", "Date/Time of Tumor Measurement"),
    ),
)

RS_TESTS = {"OVRLRESP": "Overall Response", "TRGRESP": "Target Response", "NTRGRESP": "Non-target Response"}
RS = Dataset(
    "RS",
    "Disease Response and Clin Classification",
    ("STUDYID", "USUBJID", "RSCAT", "RSTESTCD", "RSDTC"),
    (
        *_ids("RS"),
        Var("RSSEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        Var("RSTESTCD", "Assessment Short Name", length=8, terms=tuple(RS_TESTS), core="Req"),
        Var("RSTEST", "Assessment Name", length=40, terms=tuple(RS_TESTS.values()), core="Req"),
        Var("RSCAT", "Category for Assessment", length=12, terms=("RECIST 1.1", "iRECIST"), core="Exp"),
        Var("RSORRES", "Result or Finding in Original Units", length=20, terms=RECIST_RESP, core="Exp"),
        Var("RSSTRESC", "Character Result/Finding in Std Format", length=20, terms=RECIST_RESP, core="Exp"),
        Var("RSEVAL", "Evaluator", length=20, terms=("INVESTIGATOR",)),
        _dtc("RSDTC", "Date/Time of Assessment"),
    ),
)

MI = Dataset(
    "MI",
    "Microscopic Findings",
    ("STUDYID", "USUBJID", "MIREFID", "MITESTCD", "MITSTDTL"),
    (
        *_ids("MI"),
        Var("MISEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        Var("MIREFID", "Reference ID", length=40),
        Var("MITESTCD", "Microscopic Examination Short Name", length=8, core="Req"),
        Var("MITEST", "Microscopic Examination Name", length=40, core="Req"),
        Var("MITSTDTL", "Microscopic Examination Detail", length=40),
        Var("MIORRES", "Result or Finding in Original Units", length=20, core="Exp"),
        Var("MIORRESU", "Original Units", length=12),
        Var("MISTRESC", "Character Result/Finding in Std Format", length=20, core="Exp"),
        Var("MISTRESN", "Numeric Result/Finding in Std Units", "Num", 8),
        Var("MISTRESU", "Standard Units", length=12),
        Var("MISPEC", "Specimen Material Type", length=20, terms=("TISSUE",)),
        Var("MILOC", "Specimen Location", length=60),
        Var("MIMETHOD", "Method of Test or Examination", length=40, terms=("IMMUNOHISTOCHEMISTRY",)),
        _dtc("MIDTC", "Date/Time of Specimen Collection"),
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (DM, AE, SUPPAE, EX, SUPPEX, TU, TR, RS, MI)}


def dtc(value: Any) -> str:
    """ISO 8601 text of a date, date-time or partial date string (kept partial)."""
    if value in (None, ""):
        return ""
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    return str(value)


def check_rows(dataset: Dataset, rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every violation of the definition: unknown/missing columns, terms, lengths, numbers, ISO 8601 dates."""
    errors: list[str] = []
    names = set(dataset.columns)
    keys_seen: set[tuple] = set()
    for n, row in enumerate(rows, 1):
        if set(row) != names:
            errors.append(
                f"{dataset.name} row {n}: columns {sorted(set(row) ^ names)} differ from the definition"
            )
            continue
        for var in dataset.variables:
            errors.extend(_check_value(dataset.name, n, var, row[var.name]))
        key = tuple(row[k] for k in dataset.keys)
        if key in keys_seen and dataset.name in ("DM", "AE", "EX", "TU", "TR", "RS", "MI"):
            errors.append(f"{dataset.name} row {n}: duplicate key {key}")
        keys_seen.add(key)
    return errors


def _check_value(domain: str, n: int, var: Var, value: Any) -> list[str]:
    where = f"{domain} row {n} {var.name}"
    if value in (None, ""):
        return [f"{where}: required value missing"] if var.core == "Req" else []
    if var.type == "Num":
        return (
            []
            if isinstance(value, int | float) and not isinstance(value, bool)
            else [f"{where}: {value!r} is not numeric"]
        )
    if not isinstance(value, str):
        return [f"{where}: {value!r} is not character"]
    errors = []
    if len(value.encode()) > var.length:
        errors.append(f"{where}: longer than {var.length}")
    if var.terms and value not in var.terms:
        errors.append(f"{where}: {value!r} not in controlled terms")
    if var.iso8601 and not ISO8601.match(value):
        errors.append(f"{where}: {value!r} is not ISO 8601")
    return errors


def validate_definitions() -> list[str]:
    """SAS v5 transport limits: names <= 8 characters, labels <= 40, upper-case names."""
    errors = []
    for ds in DATASETS.values():
        if len(ds.name) > 8 or len(ds.label) > 40:
            errors.append(f"{ds.name}: name or label too long")
        for v in ds.variables:
            if len(v.name) > 8 or not re.fullmatch(r"[A-Z][A-Z0-9]*", v.name) or len(v.label) > 40:
                errors.append(f"{ds.name}.{v.name}: name/label breaks SAS v5 limits")
    for qnam, label in SUPPAE_QUALIFIERS.items():
        if len(qnam) > 8 or len(label) > 40:
            errors.append(f"SUPPAE {qnam}: too long")
    return errors


def to_csv(dataset: Dataset, rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=dataset.columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else safe_cell(v)) for k, v in row.items()})
    return out.getvalue().encode()


def write_xpt(dataset: Dataset, rows: list[dict[str, Any]], path: Path) -> None:
    """SAS transport (XPORT v5) via pyreadstat; Num as float (NaN when empty), Char as text."""
    import pandas as pd
    import pyreadstat

    data: dict[str, list] = {}
    for var in dataset.variables:
        values = [row.get(var.name) for row in rows]
        if var.type == "Num":
            data[var.name] = [float(v) if v not in (None, "") else math.nan for v in values]
        else:
            data[var.name] = ["" if v is None else str(v) for v in values]
    frame = pd.DataFrame(data, columns=dataset.columns)
    for var in dataset.variables:
        if var.type == "Char":
            frame[var.name] = frame[var.name].astype(object)
    pyreadstat.write_xport(
        frame,
        str(path),
        table_name=dataset.name,
        file_format_version=5,
        file_label=dataset.label,
        column_labels=[v.label for v in dataset.variables],
    )


def define(datasets: Iterable[Dataset] | None = None) -> dict[str, Any]:
    """Machine-readable description of every dataset and variable (define.xml-like, as JSON)."""
    return {
        "study": STUDYID,
        "standard": "SDTM-style (SDTMIG 3.3 variable names)",
        "datasets": [
            {
                "name": ds.name,
                "label": ds.label,
                "keys": list(ds.keys),
                "variables": [
                    {k: v for k, v in asdict(var).items() if k != "iso8601"}
                    | ({"format": "ISO 8601"} if var.iso8601 else {})
                    for var in ds.variables
                ],
            }
            for ds in (datasets or DATASETS.values())
        ],
        "supplemental_qualifiers": {
            "SUPPAE": SUPPAE_QUALIFIERS,
            "SUPPEX": {"EXMASSMG": "Tracer mass dose (mg)"},
        },
    }
