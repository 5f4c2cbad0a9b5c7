"""Hostile series inputs are refused with one clear line; good series read in z order."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import RLELossless

from quant.dicom import series as dicom_series
from quant.errors import MixedSeriesError, SeriesError
from quant.pet.series import read_pet_series
from tests.quant.pet.phantoms import small_phantom


@pytest.fixture
def pet_series(tmp_path):
    return small_phantom(tmp_path / "pt")


def _edit(path: str, **values) -> None:
    ds = pydicom.dcmread(path)
    for key, value in values.items():
        setattr(ds, key, value)
    ds.save_as(path)


def _refused(paths, match, **kwargs) -> str:
    with pytest.raises(SeriesError, match=match) as info:
        read_pet_series(paths, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_good_series_geometry_and_order(pet_series):
    shuffled = list(reversed(pet_series.files))
    series = read_pet_series(shuffled)
    g = series.geometry
    assert g.shape == (12, 40, 40) and g.spacing == (4.0, 4.0, 4.0)
    assert np.allclose(g.origin, pet_series.origin)
    assert g.sop_instance_uids[0] == pydicom.dcmread(pet_series.files[0]).SOPInstanceUID
    assert np.allclose(g.affine @ [1, 2, 3, 1], [*(pet_series.origin + [4, 8, 12]), 1])
    assert series.volume.dtype == np.float32 and g.frame_of_reference_uid == pet_series.uids["frame"]


def test_non_dicom_refused(pet_series, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not an image")
    _refused([*pet_series.files, str(junk)], "not a DICOM file")


def test_dicom_without_preamble_is_read_after_validation(pet_series, tmp_path):
    reference = read_pet_series(pet_series.files).volume.copy()
    raw = Path(pet_series.files[0]).read_bytes()[132:]  # strip preamble + DICM (meta group kept)
    bare = tmp_path / "bare.dcm"
    bare.write_bytes(raw)
    series = read_pet_series([*pet_series.files[1:], str(bare)])
    assert np.array_equal(series.volume, reference)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x02\x00\x10\x00" + bytes(range(200)))  # a plausible first tag, then garbage
    _refused([*pet_series.files[1:], str(junk)], "not a DICOM file")


def test_truncated_file_refused(pet_series):
    path = pet_series.files[3]
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) - 500])
    _refused(pet_series.files, "truncated|unreadable")


def test_mixed_series_lists_what_was_found(pet_series, tmp_path):
    other = small_phantom(tmp_path / "other", series_description="PET NAC", modality="PT")
    message = _refused([*pet_series.files, *other.files[:5]], "2 series")
    assert "12 files" in message and "5 files" in message and "PET NAC" in message
    with pytest.raises(MixedSeriesError) as info:
        read_pet_series([*other.files[:5], *pet_series.files])
    assert sorted(s["instances"] for s in info.value.series) == [5, 12]
    assert {s["modality"] for s in info.value.series} == {"PT"}


def test_gap_refused(pet_series):
    _refused(pet_series.files[:5] + pet_series.files[6:], "gap")


def test_duplicate_position_refused(pet_series, tmp_path):
    copy = tmp_path / "dup.dcm"
    shutil.copy(pet_series.files[4], copy)
    _edit(str(copy), SOPInstanceUID=pydicom.uid.generate_uid())
    _refused([*pet_series.files, str(copy)], "duplicate slice position")


def test_inconsistent_spacing_refused(pet_series):
    ds = pydicom.dcmread(pet_series.files[6])
    ipp = [float(v) for v in ds.ImagePositionPatient]
    _edit(pet_series.files[6], ImagePositionPatient=[ipp[0], ipp[1], ipp[2] + 1.5])
    _refused(pet_series.files, "spacing|gap")


def test_inconsistent_pixel_spacing_refused(pet_series):
    _edit(pet_series.files[2], PixelSpacing=[4.0, 4.5])
    _refused(pet_series.files, "PixelSpacing differs")


def test_inconsistent_orientation_refused(pet_series):
    _edit(pet_series.files[2], ImageOrientationPatient=[1, 0, 0, 0, 0.9950042, 0.0998334])
    _refused(pet_series.files, "ImageOrientationPatient differs")


def test_wrong_modality_refused_and_mr_accepted_when_asked(pet_series):
    for path in pet_series.files:
        _edit(path, Modality="MR")
    _refused(pet_series.files, "modality is MR, expected PT")
    assert dicom_series.read_series(pet_series.files, "MR").modality == "MR"


@pytest.mark.parametrize("units", ["PROPCNTS", "NPREC", "CPS"])
def test_unsupported_units_refused(tmp_path, units):
    info = small_phantom(tmp_path, units_text=units)
    _refused(info.files, "unsupported Units")


@pytest.mark.parametrize(("corrected", "missing"), [(("NORM", "DECY"), "ATTN"), (("ATTN", "SCAT"), "DECY")])
def test_missing_attn_or_decy_refused(tmp_path, corrected, missing):
    info = small_phantom(tmp_path, corrected_image=corrected)
    _refused(info.files, f"lacks {missing}")


def test_unsupported_decay_correction_refused(pet_series):
    for path in pet_series.files:
        _edit(path, DecayCorrection="DECAYED")
    _refused(pet_series.files, "DecayCorrection")


def test_series_level_attribute_differing_refused(pet_series):
    _edit(pet_series.files[5], PatientWeight="80")
    _refused(pet_series.files, "PatientWeight differs")


def test_radiopharmaceutical_differing_refused(pet_series):
    ds = pydicom.dcmread(pet_series.files[5])
    ds.RadiopharmaceuticalInformationSequence[0].RadionuclideHalfLife = "282000"
    ds.save_as(pet_series.files[5])
    _refused(pet_series.files, "RadionuclideHalfLife differs")


@pytest.mark.parametrize(("rows", "cols"), [(4096, 40), (40, 1)])
def test_absurd_dimensions_refused(tmp_path, rows, cols):
    info = small_phantom(tmp_path, shape=(3, 40, 40))
    for path in info.files:
        _edit(path, Rows=rows, Columns=cols)
    _refused(info.files, "absurd image size")


def test_absurd_slice_count_refused(pet_series, monkeypatch):
    import quant.dicom.pixels as module

    monkeypatch.setattr(module, "MAX_SLICES", 10)
    _refused(pet_series.files, "absurd number of slices")


def test_pixel_data_shorter_than_declared_refused(pet_series):
    ds = pydicom.dcmread(pet_series.files[2])
    ds.PixelData = ds.PixelData[:-200]
    ds.save_as(pet_series.files[2])
    _refused(pet_series.files, "truncated pixel data")


def test_rle_compressed_series_is_decoded(pet_series):
    reference = read_pet_series(pet_series.files).volume.copy()
    for path in pet_series.files:
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless)
        ds.save_as(path)
    series = read_pet_series(pet_series.files)
    assert series.transfer_syntax == "1.2.840.10008.1.2.5"
    assert np.array_equal(series.volume, reference)


def test_directory_argument(pet_series):
    folder = os.path.dirname(pet_series.files[0])
    assert read_pet_series(folder).geometry.shape[0] == 12


@pytest.mark.parametrize("source", ["phantom", "dro"])
def test_fast_scan_equals_pydicom_path(pet_series, monkeypatch, source):
    """Slices 2..n are scanned without pydicom; the result must equal the all-pydicom read."""

    if source == "phantom":
        files = pet_series.files
    else:
        folder = (
            Path(__file__).resolve().parents[2] / "data" / "suv_reference" / "ibsi_suv_dro" / "DRO_3_4" / "PT"
        )
        files = sorted(str(p) for p in folder.glob("*.dcm"))
    fast = read_pet_series(files)
    monkeypatch.setattr(dicom_series, "fast_read", lambda path: None)
    slow = read_pet_series(files)
    assert np.array_equal(fast.volume, slow.volume)
    assert fast.header == slow.header
    assert np.array_equal(fast.geometry.affine, slow.geometry.affine)
    assert fast.geometry.sop_instance_uids == slow.geometry.sop_instance_uids
    assert fast.rescale_slopes == slow.rescale_slopes


def test_files_equal_to_the_first_are_compared_by_their_bytes_alone(pet_series, monkeypatch):
    """The fast path: series-level values of slices 2..n equal the first file's bytes, so none is decoded and
    compared value by value (it was, for every file, while the first file's bytes were taken after its checks)."""
    slow_compares: list[str] = []
    check_same = dicom_series._check_same

    def counted(ds, keys, path):
        slow_compares.append(path)
        return check_same(ds, keys, path)

    monkeypatch.setattr(dicom_series, "_check_same", counted)
    read_pet_series(pet_series.files)
    assert slow_compares == []
    _edit(pet_series.files[5], PatientWeight="80")  # one file differs: compared by value, and refused
    _refused(pet_series.files, "PatientWeight differs")
    assert slow_compares == [pet_series.files[5]]


def test_scan_series_lists_series_for_a_chooser(pet_series, tmp_path):
    from quant.dicom.files import scan_series

    other = small_phantom(tmp_path / "other", shape=(3, 40, 40), series_description="PET NAC")
    found = scan_series([*pet_series.files, *other.files])
    assert sorted((f["description"], f["instances"]) for f in found) == [
        ("PET NAC", 3),
        ("PET WB 89Zr-Df-crefmirlimab 48h", 12),
    ]
