"""SDTM-style dataset definitions, term checks and writers (CSV, SAS transport v5, define-like JSON). No Django."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import struct
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any, BinaryIO

from exports import sdtm_clinical
from exports.sdtm_vars import NY, STUDYID, SUPP_VARS, Dataset, Var, dtc_var, ids
from trial.csv_safety import safe_cell

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


_ids = ids
_dtc = dtc_var


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

DATASETS: dict[str, Dataset] = {
    d.name: d for d in (DM, AE, SUPPAE, EX, SUPPEX, TU, TR, RS, MI, *sdtm_clinical.DATASETS)
}


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
        if key in keys_seen and not dataset.name.startswith("SUPP"):
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
    for qnam, label in (SUPPAE_QUALIFIERS | sdtm_clinical.SUPPPC_QUALIFIERS).items():
        if len(qnam) > 8 or len(label) > 40:
            errors.append(f"SUPPAE {qnam}: too long")
    return errors


def _csv_cells(row: dict[str, Any]) -> dict[str, Any]:
    return {k: ("" if v is None else safe_cell(v)) for k, v in row.items()}


def to_csv(dataset: Dataset, rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=dataset.columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(_csv_cells(row))
    return out.getvalue().encode()


class CsvStream:
    """CSV of one dataset written row by row into an open text file (header first)."""

    def __init__(self, dataset: Dataset, out: IO[str]) -> None:
        self.writer = csv.DictWriter(out, fieldnames=dataset.columns, lineterminator="\r\n")
        self.writer.writeheader()

    def write(self, row: dict[str, Any]) -> None:
        self.writer.writerow(_csv_cells(row))


# -- SAS transport (XPORT) version 5, written as a stream (SAS TS-140) -----------------------------------------
XPT_MISSING = b"." + bytes(7)
_XPT_RECORD = 80
_XPT_NAMESTR = 140
_XPT_MAX_CHAR = 200


def _xpt_header(kind: str, numbers: str = "0" * 30) -> bytes:
    return f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{numbers}  ".encode("ascii")


def _xpt_text(value: str, width: int) -> bytes:
    return value.encode("ascii", "replace")[:width].ljust(width)


def _xpt_date(when: dt.datetime) -> bytes:
    return when.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")


def ibm_float(value: float | None) -> bytes:
    """A float as the 8-byte IBM hexadecimal floating point of SAS transport files (exact for doubles)."""
    if value is None or math.isnan(value):
        return XPT_MISSING
    if value == 0:
        return bytes(8)
    sign = 0x80 if value < 0 else 0
    mantissa, exponent = math.frexp(abs(value))  # abs(value) = mantissa * 2**exponent, 0.5 <= mantissa < 1
    shift = (-exponent) % 4  # IBM exponents count nibbles: make the binary exponent a multiple of 4
    mantissa, exponent = mantissa / (1 << shift), exponent + shift
    fraction = int(mantissa * (1 << 56))  # exact: a double's 53 bits shifted by at most 3
    characteristic = exponent // 4 + 64
    if not 0 <= characteristic <= 127:
        raise SdtmError(f"{value!r} is outside the range of SAS transport numbers")
    return bytes([sign | characteristic]) + fraction.to_bytes(7, "big")


def xpt_cells(dataset: Dataset, row: dict[str, Any]) -> tuple[Any, ...]:
    """A row as XPT cells: Num as float (None when empty), Char as text ("" when empty)."""
    cells: list[Any] = []
    for var in dataset.variables:
        value = row.get(var.name)
        if var.type == "Num":
            cells.append(None if value in (None, "") else float(value))
        else:
            cells.append("" if value is None else str(value))
    return tuple(cells)


def xpt_widths(dataset: Dataset, rows: Iterable[tuple[Any, ...]]) -> list[int]:
    """Byte width of every variable: 8 for Num, the longest value (at least 1) for Char."""
    widths = [8 if var.type == "Num" else 1 for var in dataset.variables]
    chars = [i for i, var in enumerate(dataset.variables) if var.type == "Char"]
    for cells in rows:
        for i in chars:
            n = len(cells[i].encode())
            if n > widths[i]:
                widths[i] = n
    return [min(w, _XPT_MAX_CHAR) for w in widths]


class XptWriter:
    """One dataset as a SAS transport v5 file: headers first, then one observation at a time (fixed widths,
    so the Char widths are known before the first row: `xpt_widths`)."""

    def __init__(self, dataset: Dataset, out: BinaryIO, widths: list[int], when: dt.datetime) -> None:
        self.dataset, self.out, self.widths = dataset, out, widths
        self.written = 0
        stamp = _xpt_date(when)
        os_name = _xpt_text("Linux", 8)
        head = [
            _xpt_header("LIBRARY"),
            b"SAS     SAS     SASLIB  9.4     " + os_name + b" " * 24 + stamp,
            stamp + b" " * 64,
            _xpt_header("MEMBER", "000000000000000001600000000140"),
            _xpt_header("DSCRPTR"),
            b"SAS     " + _xpt_text(dataset.name, 8) + b"SASDATA 9.4     " + os_name + b" " * 24 + stamp,
            stamp + b" " * 16 + _xpt_text(dataset.label, 40) + b" " * 8,
            _xpt_header("NAMESTR", f"000000{len(dataset.variables):04d}" + "0" * 20),
        ]
        namestrs = b""
        position = 0
        for number, (var, width) in enumerate(zip(dataset.variables, widths, strict=True), 1):
            namestrs += struct.pack(
                ">hhhh8s40s8shhh2s8shhi52s",
                1 if var.type == "Num" else 2,
                0,
                width,
                number,
                _xpt_text(var.name, 8),
                _xpt_text(var.label, 40),
                b" " * 8,
                0,
                0,
                0,
                b"\0\0",
                b" " * 8,
                0,
                0,
                position,
                bytes(52),
            )
            position += width
        namestrs += b" " * (-len(namestrs) % _XPT_RECORD)
        out.write(b"".join(head) + namestrs + _xpt_header("OBS"))
        self.types = [var.type for var in dataset.variables]

    def write(self, cells: tuple[Any, ...]) -> None:
        parts = []
        for kind, width, value in zip(self.types, self.widths, cells, strict=True):
            if kind == "Num":
                parts.append(ibm_float(value))
            else:
                parts.append(value.encode()[:width].ljust(width))
        record = b"".join(parts)
        self.out.write(record)
        self.written += len(record)

    def close(self) -> None:
        """Pad the last 80-byte record with blanks."""
        self.out.write(b" " * (-self.written % _XPT_RECORD))


def write_xpt(
    dataset: Dataset, rows: Iterable[dict[str, Any]], path: Path, *, when: dt.datetime | None = None
) -> None:
    """SAS transport (XPORT v5): Num as IBM floats (missing when empty), Char as text at its longest width.
    The rows are read twice (widths, then observations): pass a list, or use `XptWriter` with a spool."""
    rows = rows if isinstance(rows, list) else list(rows)
    cells = [xpt_cells(dataset, row) for row in rows]
    with open(path, "wb") as fh:
        writer = XptWriter(dataset, fh, xpt_widths(dataset, cells), when or dt.datetime.now(dt.UTC))
        for row_cells in cells:
            writer.write(row_cells)
        writer.close()


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
            "SUPPPC": sdtm_clinical.SUPPPC_QUALIFIERS,
        },
    }
