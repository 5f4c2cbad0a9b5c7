"""SDTM-style datasets from the database (scoped to the user's sites)."""

from __future__ import annotations

import datetime as dt
import io
import json
import pickle
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from exports import sdtm, sdtm_clinical_data, sdtm_design_data
from exports.sdtm_dm_data import COUNTRY3, iter_dm  # noqa: F401  (COUNTRY3 re-exported)
from exports.sdtm_events_data import TRACER, iter_ae, iter_ex  # noqa: F401  (TRACER re-exported)
from exports.sdtm_tumour_data import iter_mi, iter_rs, iter_tr, iter_tu

CHUNK = 2000  # rows fetched from the database at a time


def usubjid(study_id: str) -> str:
    return f"{sdtm.STUDYID}-{study_id}"


# Every dataset as a stream of rows (a database chunk at a time), in the order of the zip and the file API.
STREAMS: dict[str, Callable[[Any], Iterator[dict]]] = {
    "DM": iter_dm,
    "AE": iter_ae,
    "SUPPAE": lambda user: iter_ae(user, supp=True),
    "EX": iter_ex,
    "SUPPEX": lambda user: iter_ex(user, supp=True),
    "TU": iter_tu,
    "TR": iter_tr,
    "RS": iter_rs,
    "MI": iter_mi,
    **sdtm_clinical_data.STREAMS,
    **sdtm_design_data.STREAMS,
}


def build(user: Any) -> dict[str, list[dict]]:
    """Every dataset's rows as lists (empty when the source app has no data); small trials and tests only:
    files are written from `STREAMS`."""
    return {name: list(stream(user)) for name, stream in STREAMS.items()}


SPOOL_BATCH = 1000  # rows pickled together into the spool between the CSV and the XPT pass


def write_dataset_files(
    dataset: sdtm.Dataset, rows: Iterable[dict], csv_out: IO[bytes], xpt_out: IO[bytes]
) -> int:
    """One pass over the rows writes the CSV and spools XPT cells to a temporary file while the Char widths
    are measured; a second pass over the spool writes the XPT. Memory stays flat whatever the row count."""
    text = io.TextIOWrapper(csv_out, encoding="utf-8", newline="", write_through=True)
    csv_stream = sdtm.CsvStream(dataset, text)
    n = 0
    widths = [8 if v.type == "Num" else 1 for v in dataset.variables]
    with tempfile.TemporaryFile() as spool:
        batch: list[tuple] = []
        for row in rows:
            csv_stream.write(row)
            cells = sdtm.xpt_cells(dataset, row)
            batch.append(cells)
            n += 1
            if len(batch) >= SPOOL_BATCH:
                widths = _spool(spool, batch, dataset, widths)
                batch = []
        widths = _spool(spool, batch, dataset, widths)
        text.flush()
        text.detach()
        spool.seek(0)
        writer = sdtm.XptWriter(dataset, xpt_out, widths, dt.datetime.now(dt.UTC))
        while True:
            try:
                chunk = pickle.load(spool)
            except EOFError:
                break
            for cells in chunk:
                writer.write(cells)
        writer.close()
    return n


def _spool(spool: IO[bytes], batch: list[tuple], dataset: sdtm.Dataset, widths: list[int]) -> list[int]:
    if not batch:
        return widths
    pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
    return [max(a, b) for a, b in zip(widths, sdtm.xpt_widths(dataset, batch), strict=True)]


def write_datasets_into(zf: zipfile.ZipFile, user: Any) -> list[str]:
    """Every dataset as CSV and XPT into the zip, one dataset and one row chunk at a time."""
    names = []
    for name, stream in STREAMS.items():
        dataset = sdtm.DATASETS[name]
        csv_name, xpt_name = f"sdtm/{name.lower()}.csv", f"sdtm/{name.lower()}.xpt"
        with tempfile.TemporaryFile() as xpt_tmp:
            with zf.open(csv_name, "w", force_zip64=True) as csv_out:
                write_dataset_files(dataset, stream(user), csv_out, xpt_tmp)
            xpt_tmp.seek(0)
            with zf.open(xpt_name, "w", force_zip64=True) as xpt_out:
                shutil.copyfileobj(xpt_tmp, xpt_out, 1 << 20)
        names += [csv_name, xpt_name]
    zf.writestr("sdtm/define.json", json.dumps(sdtm.define(), indent=2))
    return [*names, "sdtm/define.json"]
