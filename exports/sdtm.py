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

from exports import sdtm_clinical, sdtm_core, sdtm_design
from exports.sdtm_core import (  # noqa: F401  (re-exported: the domain definitions live in sdtm_core)
    AE,
    DM,
    EX,
    MI,
    RS,
    RS_TESTS,
    SUPPAE,
    SUPPAE_QUALIFIERS,
    SUPPEX,
    SUPPEX_QUALIFIERS,
    TR,
    TR_TESTS,
    TU,
)
from exports.sdtm_vars import SDTMIG_VERSION, STUDYID, Dataset, Var
from trial.csv_safety import safe_cell

ISO8601 = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$")


class SdtmError(ValueError):
    """A dataset row breaks its definition (terms, lengths, types, dates)."""


DATASETS: dict[str, Dataset] = {
    d.name: d for d in (*sdtm_core.DATASETS, *sdtm_clinical.DATASETS, *sdtm_design.DATASETS)
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
    for qnam, label in (SUPPAE_QUALIFIERS | SUPPEX_QUALIFIERS | sdtm_clinical.SUPPPC_QUALIFIERS).items():
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
        "standard": f"SDTMIG {SDTMIG_VERSION}",
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
            "SUPPEX": SUPPEX_QUALIFIERS,
            "SUPPPC": sdtm_clinical.SUPPPC_QUALIFIERS,
        },
    }
