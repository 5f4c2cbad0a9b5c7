"""De-identification: nothing identifying survives, UIDs map consistently, SUV is unchanged."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from quant.dicom.deid import DeidOptions, deidentify, deidentify_file, remap_uid, sha256_hex
from quant.pet.series import read_pet_series
from quant.pet.suv import compute_suv
from tests.quant.pet.phantoms import small_phantom

SECRET = b"test-secret-not-for-production"


@pytest.fixture(params=["BQML", "CNTS_ACT", "ge_private"])
def pet_deid_case(request, tmp_path):
    fields = {"reference": "ge_private"} if request.param == "ge_private" else {"units": request.param}
    info = small_phantom(tmp_path / "orig", shape=(6, 32, 32), **fields)
    out_dir = tmp_path / "deid"
    out_dir.mkdir()
    sums = {}
    for path in info.files:
        dst = out_dir / Path(path).name
        sums[str(dst)] = deidentify_file(path, str(dst), "CD8-NL01-007", "participant-7", SECRET)
    return info, sorted(sums), sums


def _identifying_values(info) -> list[bytes]:
    values = [v.encode() for v in info.identifiers.values()]
    values += [
        part.encode()
        for v in info.identifiers.values()
        for part in v.replace("^", " ").split()
        if len(part) > 4
    ]
    values += [uid.encode() for uid in info.uids.values()]
    for path in info.files:
        values.append(str(pydicom.dcmread(path).SOPInstanceUID).encode())
    return values


def test_no_identifying_value_in_written_bytes(pet_deid_case):
    info, files, _ = pet_deid_case
    needles = _identifying_values(info)
    for path in files:
        data = Path(path).read_bytes()
        found = [n for n in needles if n in data]
        assert not found, f"{path}: {found}"
        ds = pydicom.dcmread(path)
        assert ds.PatientName == "CD8-NL01-007" and ds.PatientID == "CD8-NL01-007"
        assert ds.PatientIdentityRemoved == "YES"


def test_uids_map_consistently(pet_deid_case, tmp_path):
    info, files, _ = pet_deid_case
    datasets = [pydicom.dcmread(p) for p in files]
    series = {str(d.SeriesInstanceUID) for d in datasets}
    frames = {str(d.FrameOfReferenceUID) for d in datasets}
    assert len(series) == 1 and len(frames) == 1
    assert series == {remap_uid(info.uids["series"], "participant-7", SECRET)}
    assert all(str(d.SOPInstanceUID) == str(d.file_meta.MediaStorageSOPInstanceUID) for d in datasets)
    assert len({str(d.SOPInstanceUID) for d in datasets}) == len(datasets)
    assert all(str(d.SOPClassUID) == "1.2.840.10008.5.1.4.1.1.128" for d in datasets)
    # same participant twice -> same UIDs; another participant -> different UIDs
    again = deidentify(pydicom.dcmread(info.files[0]), "CD8-NL01-007", "participant-7", SECRET)
    other = deidentify(pydicom.dcmread(info.files[0]), "CD8-NL01-008", "participant-8", SECRET)
    assert again.SeriesInstanceUID in series and other.SeriesInstanceUID not in series
    assert str(again.SeriesInstanceUID).startswith("2.25.") and len(str(again.SeriesInstanceUID)) <= 64


def test_suv_identical_before_and_after(pet_deid_case):
    info, files, _ = pet_deid_case
    before = compute_suv(read_pet_series(info.files).header)
    after_series = read_pet_series(files)
    after = compute_suv(after_series.header)
    assert after.suv_bw_factor == before.suv_bw_factor
    assert after.decay_time_s == before.decay_time_s
    assert after.reference_time_source == before.reference_time_source


def test_checksums_are_of_written_bytes(pet_deid_case):
    _, files, sums = pet_deid_case
    for path in files:
        assert sums[path] == sha256_hex(Path(path).read_bytes())


def test_without_retain_options_suv_inputs_are_gone(tmp_path):
    info = small_phantom(tmp_path, shape=(3, 16, 16), units="CNTS_ACT")
    bare = DeidOptions(False, False, False)
    ds = deidentify(pydicom.dcmread(info.files[0]), "S1", "p1", SECRET, bare)
    # Table E.1-1 basic profile: Series Time X/D -> dummy, Acquisition Date X/Z -> empty, Weight X
    assert "PatientWeight" not in ds and ds.SeriesTime == "000000" and ds.AcquisitionDate == ""
    assert not any(e.tag.is_private for e in ds)
    kept = deidentify(pydicom.dcmread(info.files[0]), "S1", "p1", SECRET)
    assert (
        kept.PatientWeight == 75
        and kept.private_block(0x7053, "Philips PET Private Group")[0x09].value == "2.5"
    )
    assert not any(e.tag.group == 0x0019 for e in kept)  # unsafe private (site info) removed
