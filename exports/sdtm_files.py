"""SDTM datasets one domain at a time, as files: CSV and Dataset-JSON 1.1 streamed, XPT through a temp file."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from exports import sdtm, sdtm_data

DATASET_JSON_VERSION = "1.1.0"
MDV_OID = "MDV.CD8PET.SDTM.1"
STUDY_OID = "ST.CD8PET"
FORMATS = {"xpt": "application/x-sas-xport", "csv": "text/csv; charset=utf-8", "json": "application/json"}

_SOURCES: dict[str, Callable[[Any], Iterator[dict]]] = sdtm_data.STREAMS


def domains() -> list[sdtm.Dataset]:
    return [sdtm.DATASETS[name] for name in _SOURCES]


def dataset_of(domain: str) -> sdtm.Dataset | None:
    return sdtm.DATASETS.get(domain.upper()) if domain.upper() in _SOURCES else None


def domain_rows(user: Any, domain: str) -> list[dict]:
    """Rows of one domain, scoped to the user's sites (the whole-trial zip streams them: `sdtm_data.STREAMS`)."""
    return list(_SOURCES[domain.upper()](user))


def csv_chunks(dataset: sdtm.Dataset, rows: list[dict], batch: int = 500) -> Iterator[bytes]:
    yield sdtm.to_csv(dataset, [])
    for start in range(0, len(rows), batch):
        body = sdtm.to_csv(dataset, rows[start : start + batch])
        yield body.split(b"\r\n", 1)[1]


def xpt_file(dataset: sdtm.Dataset, rows: list[dict]) -> Path:
    """Write the XPT (SAS transport v5) into a new temporary file; the caller streams and deletes it."""
    handle = tempfile.NamedTemporaryFile(prefix=f"{dataset.name.lower()}-", suffix=".xpt", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    sdtm.write_xpt(dataset, rows, path)
    return path


def json_data_type(var: sdtm.Var) -> str:
    """Dataset-JSON dataType: Num variables are integer (--SEQ, --DY, counts) or float; ISO 8601 text is string."""
    if var.type == "Char":
        return "string"
    if var.name in ("AGE", "TAETORD"):  # completed years; planned order of an element
        return "integer"
    return "integer" if var.name.endswith(("SEQ", "DY", "NUM", "CD")) and var.name != "VISITNUM" else "float"


def columns(dataset: sdtm.Dataset) -> list[dict[str, Any]]:
    out = []
    for var in dataset.variables:
        column: dict[str, Any] = {
            "itemOID": f"IT.{dataset.name}.{var.name}",
            "name": var.name,
            "label": var.label,
            "dataType": json_data_type(var),
        }
        if var.type == "Char":
            column["length"] = var.length
        if var.name in dataset.keys:
            column["keySequence"] = dataset.keys.index(var.name) + 1
        out.append(column)
    return out


def _cell(var: sdtm.Var, data_type: str, value: Any) -> Any:
    if value in (None, ""):
        return None if var.type == "Num" else ""
    if data_type == "integer":
        return int(value)
    if data_type == "float":
        return float(value)
    return str(value)


def dataset_json_chunks(
    dataset: sdtm.Dataset, rows: list[dict], created: dt.datetime, batch: int = 500
) -> Iterator[bytes]:
    """Dataset-JSON 1.1 of one domain, written a batch of rows at a time."""
    cols = columns(dataset)
    header = {
        "datasetJSONCreationDateTime": created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"CD8PET.SDTM.{dataset.name}.{created:%Y%m%dT%H%M%S}",
        "originator": "CD8-PET Trial Data Manager",
        "sourceSystem": {"name": "cd8pet-edc", "version": "1"},
        "studyOID": STUDY_OID,
        "metaDataVersionOID": MDV_OID,
        "metaDataRef": "define.xml",
        "itemGroupOID": f"IG.{dataset.name}",
        "records": len(rows),
        "name": dataset.name,
        "label": dataset.label,
        "columns": cols,
    }
    yield json.dumps(header)[:-1].encode() + b', "rows": ['
    types = [c["dataType"] for c in cols]
    for start in range(0, len(rows), batch):
        lines = [
            json.dumps([_cell(v, t, row.get(v.name)) for v, t in zip(dataset.variables, types)])
            for row in rows[start : start + batch]
        ]
        yield (("," if start else "") + ",\n".join(lines)).encode()
    yield b"]}\n"
