"""The whole-trial SDTM files are written as streams (issue 17): the same CSV and XPT as the row lists give, with
Python memory that does not grow with the number of AEs (tracemalloc peak at two trial sizes)."""

from __future__ import annotations

import csv
import io
import math
import tracemalloc
import zipfile

import pyreadstat
import pytest

from exports import sdtm, sdtm_clinical_data, sdtm_data
from safety.models import AdverseEvent
from tests import factories
from trial.models import Role, Site
from trial.scale import ScaleLoader, ScalePlan

pytestmark = pytest.mark.django_db


def _load(participants: int, aes: int, seed: int) -> None:
    ScaleLoader(ScalePlan(1, participants, aes, 0, scans=0, seed=seed, report=lambda _m: None)).run()


def _write_zip(user, tmp_path, name: str) -> tuple[zipfile.ZipFile, int]:
    """The SDTM part of the bulk zip, and the peak Python memory (bytes) while it was written."""
    target = tmp_path / name
    tracemalloc.start()
    try:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            sdtm_data.write_datasets_into(zf, user)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return zipfile.ZipFile(target), peak


@pytest.mark.parametrize(
    "value", [0.0, 1.0, -1.0, 0.1, 123.4567, -98765.4321, 1e-5, 2.5e10, 1 / 3, 5e-70, 7e70]
)
def test_ibm_float_is_exact(value, tmp_path):
    encoded = sdtm.ibm_float(value)
    assert len(encoded) == 8
    sign = -1 if encoded[0] & 0x80 else 1
    fraction = int.from_bytes(encoded[1:], "big") / (1 << 56)
    assert sign * fraction * 16.0 ** ((encoded[0] & 0x7F) - 64) == value
    assert sdtm.ibm_float(None) == sdtm.ibm_float(math.nan) == b"." + bytes(7)


def test_streamed_files_match_the_rows_and_memory_stays_flat(tmp_path, monkeypatch):
    # Chunks smaller than both trials, so both measure the steady state (a chunk of rows, a spool batch).
    monkeypatch.setattr(sdtm_data, "CHUNK", 100)
    monkeypatch.setattr(sdtm_clinical_data, "CHUNK", 100)  # the stable --SEQ streams read theirs
    monkeypatch.setattr(sdtm_data, "SPOOL_BATCH", 100)
    _load(participants=4, aes=300, seed=5)
    user = factories.make_user("dana", (Site.objects.get(), Role.DATA_MANAGER))
    small_zip, small_peak = _write_zip(user, tmp_path, "small.zip")
    _load(participants=12, aes=3000, seed=6)
    assert AdverseEvent.objects.count() == 3300
    large_zip, large_peak = _write_zip(user, tmp_path, "large.zip")
    # Eleven times the AEs (and seven SUPPAE rows each): building the row lists first peaks at ~16 MB here.
    assert large_peak < small_peak + 3_000_000, (small_peak, large_peak)  # the row lists: +14 MB
    built = sdtm_data.build(user)
    # seven SUPPAE qualifiers per AE: four relationships, CTCAE version, irAE, and the coding note (no MedDRA)
    assert len(built["AE"]) == 3300 and len(built["SUPPAE"]) == 7 * 3300
    for name, rows in built.items():
        dataset = sdtm.DATASETS[name]
        text = large_zip.read(f"sdtm/{name.lower()}.csv")
        assert text == sdtm.to_csv(dataset, rows), name
        assert len(list(csv.DictReader(io.StringIO(text.decode())))) == len(rows)
        path = tmp_path / f"{name.lower()}.xpt"
        path.write_bytes(large_zip.read(f"sdtm/{name.lower()}.xpt"))
        if not rows:
            continue
        frame, meta = pyreadstat.read_xport(str(path))
        assert meta.table_name == name and list(frame.columns) == dataset.columns and len(frame) == len(rows)
        for var in dataset.variables:
            got = frame[var.name].tolist()
            want = [row[var.name] for row in rows]
            if var.type == "Num":
                assert all(
                    (math.isnan(g) and w in (None, "")) or g == float(w)
                    for g, w in zip(got, want, strict=True)
                ), (name, var.name)
            else:
                assert got == ["" if w is None else str(w) for w in want], (name, var.name)
