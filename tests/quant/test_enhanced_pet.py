"""Enhanced PET (1.2.840.10008.5.1.4.1.1.130) and Legacy Converted Enhanced PET (...128.1) read as classic PET.

Inputs: the IBSI SUV DROs (real classic PET files, tests/data/suv_reference) and the project's 89Zr phantom,
converted with highdicom (legacy) and made into true Enhanced PET objects (tests/quant/enhanced_pet_objects.py).
Expected values are the classic files' own: every SUV voxel within rtol 1e-6, the affine within 1e-6 mm,
the SUV factor and decay interval equal; VOI metrics from ``pet_suv`` equal; refusals are one line each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from quant.dicom import deid
from quant.errors import SeriesError
from quant.pet.series import read_pet_series
from quant.pet.suv import compute_suv

from .enhanced_pet_objects import legacy_converted, true_enhanced
from .pet.phantoms import DATA, small_phantom

ROOT = Path(__file__).resolve().parents[2]
DRO_DIR = DATA / "ibsi_suv_dro"
# each exercises a classic header variant (DRO_list.csv): BQML/START, per-slice RescaleSlope, GML BW, GML LBM
# James128, GML IBW, CM2ML, DecayCorrection ADMIN, NONE with several acquisition times, injection datetime
# only, time only, injection before midnight, Ga-68
DROS = ["DRO_0_0", "DRO_1_0", "DRO_2_0", "DRO_2_1", "DRO_2_2", "DRO_2_3", "DRO_3_1", "DRO_3_4", "DRO_4_0"]
DROS += ["DRO_4_1", "DRO_4_2", "DRO_5_0"]
FORMS = {"legacy": legacy_converted, "enhanced": true_enhanced}
RTOL, AFFINE_MM = 1e-6, 1e-6


def _suv(series) -> tuple[object, np.ndarray]:
    result = compute_suv(series.header, strict_zr89=False)
    return result, series.volume * np.asarray(result.slice_factors, dtype=np.float32)[:, None, None]


def _assert_same(classic_files: list[str], obj: Path) -> None:
    classic, other = read_pet_series(classic_files), read_pet_series([str(obj)])
    (r_classic, suv_classic), (r_other, suv_other) = _suv(classic), _suv(other)
    assert other.volume.shape == classic.volume.shape and other.files == (str(obj),)
    np.testing.assert_allclose(suv_other, suv_classic, rtol=RTOL, atol=0)
    assert np.max(np.abs(other.geometry.affine - classic.geometry.affine)) <= AFFINE_MM
    assert r_other.suv_bw_factor == pytest.approx(r_classic.suv_bw_factor, rel=RTOL)
    assert r_other.decay_time_s == pytest.approx(r_classic.decay_time_s, abs=1e-6)
    np.testing.assert_allclose(r_other.slice_factors, r_classic.slice_factors, rtol=RTOL)
    assert other.header.total_dose == pytest.approx(classic.header.total_dose, rel=1e-12)  # MBq -> Bq
    assert (other.header.units, other.header.decay_correction) == (
        classic.header.units,
        classic.header.decay_correction,
    )


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dro", DROS)
def test_dro_as_enhanced_gives_the_classic_suv_voxel_by_voxel(dro, form, tmp_path):
    files = sorted(str(p) for p in (DRO_DIR / dro / "PT").glob("*.dcm"))
    _assert_same(files, FORMS[form](files, tmp_path / f"{dro}.dcm"))


PHANTOMS = {
    "bqml": {},
    "philips_cnts": {"units": "CNTS_SUV"},
    "gml": {"units": "GML"},
    "admin": {"decay_correction": "ADMIN"},
    "none_two_beds": {"decay_correction": "NONE"},
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("variant", PHANTOMS)
def test_89zr_phantom_as_enhanced_gives_the_classic_suv(variant, form, tmp_path):
    info = small_phantom(tmp_path / "classic", **PHANTOMS[variant])
    _assert_same(list(info.files), FORMS[form](info.files, tmp_path / "obj.dcm"))


def test_enhanced_pet_units_and_corrections_are_read_from_the_enhanced_modules(tmp_path):
    info = small_phantom(tmp_path / "classic")
    ds = pydicom.dcmread(true_enhanced(info.files, tmp_path / "e.dcm"))
    assert "Units" not in ds and "DecayCorrection" not in ds and "CorrectedImage" not in ds
    assert float(ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose) == pytest.approx(37.0)
    header = read_pet_series([str(tmp_path / "e.dcm")]).header
    assert header.units == "BQML" and header.decay_correction == "START"
    assert header.total_dose == pytest.approx(37e6) and header.half_life_s == pytest.approx(282276)
    assert {"ATTN", "DECY", "SCAT", "RAN", "NORM", "DTIM"} <= set(header.corrected_image)
    result = compute_suv(header)
    assert result.suv_bw_factor == pytest.approx(info.suv_bw_factor, rel=1e-9)
    assert result.decay_time_s == pytest.approx(48 * 3600)


def test_a_rotated_enhanced_object_keeps_its_geometry(tmp_path):
    info = small_phantom(tmp_path / "classic")
    path = true_enhanced(info.files, tmp_path / "e.dcm")
    ds = pydicom.dcmread(path)
    # the same volume seen with the rows along -y and the columns along +x (a 90 degree turn in plane)
    ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient = [
        0,
        -1,
        0,
        1,
        0,
        0,
    ]
    ds.save_as(path)
    series = read_pet_series([str(path)])
    expected = np.array([[0, 4, 0], [-4, 0, 0], [0, 0, 4]], dtype=float)
    np.testing.assert_allclose(series.geometry.affine[:3, :3], expected, atol=AFFINE_MM)


# ---------------------------------------------------------------- pet_suv


def _pet_suv(folder: Path, *spheres: str) -> dict:
    args = [sys.executable, str(ROOT / "manage.py"), "pet_suv", str(folder), "--json"]
    for sphere in spheres:
        args += ["--sphere", sphere]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_pet_suv_command_gives_the_same_voi_metrics_for_classic_and_enhanced(tmp_path):
    info = small_phantom(tmp_path / "classic")
    spheres = [f"{les.name}:{','.join(map(str, les.centre_mm))},{les.radius_mm}" for les in info.lesions[:2]]
    classic = _pet_suv(tmp_path / "classic", *spheres)
    for form, make in FORMS.items():
        (tmp_path / form).mkdir()
        make(info.files, tmp_path / form / "pet.dcm")
        payload = _pet_suv(tmp_path / form, *spheres)
        assert payload["slices"] == classic["slices"] == 12, form
        assert payload["suv_bw_factor"] == pytest.approx(classic["suv_bw_factor"], rel=RTOL)
        assert payload["decay_time_s"] == pytest.approx(classic["decay_time_s"], abs=1e-6)
        assert set(payload["vois"]) == set(classic["vois"])
        for name, metrics in classic["vois"].items():
            for key, value in metrics.items():
                assert payload["vois"][name][key] == pytest.approx(value, rel=RTOL, abs=1e-9), (
                    form,
                    name,
                    key,
                )


# ---------------------------------------------------------------- refusals


@pytest.fixture
def enhanced_path(tmp_path) -> Path:
    info = small_phantom(tmp_path / "classic")
    return true_enhanced(info.files, tmp_path / "e.dcm")


def _refused(path: Path, fragment: str) -> str:
    with pytest.raises(SeriesError) as exc:
        read_pet_series([str(path)])
    message = str(exc.value)
    assert "\n" not in message and fragment in message, message
    return message


def _frames(ds) -> list:
    return list(ds.PerFrameFunctionalGroupsSequence)


def test_a_dynamic_object_is_refused(enhanced_path):
    ds = pydicom.dcmread(enhanced_path)
    for k, frame in enumerate(_frames(ds)):
        frame.FrameContentSequence[0].TemporalPositionIndex = 1 + k % 2
    ds.save_as(enhanced_path)
    _refused(enhanced_path, "dynamic enhanced object with 2 time positions")


def test_repeated_positions_without_temporal_index_are_refused(enhanced_path):
    ds = pydicom.dcmread(enhanced_path)
    frames = _frames(ds)
    for frame in frames:
        del frame.FrameContentSequence[0].TemporalPositionIndex
    frames[1].PlanePositionSequence[0].ImagePositionPatient = (
        frames[0].PlanePositionSequence[0].ImagePositionPatient
    )
    ds.save_as(enhanced_path)
    _refused(enhanced_path, "12 frames at 11 slice positions")


def test_several_stacks_are_refused(enhanced_path):
    ds = pydicom.dcmread(enhanced_path)
    for k, frame in enumerate(_frames(ds)):
        frame.FrameContentSequence[0].StackID = "1" if k < 6 else "2"
    ds.save_as(enhanced_path)
    _refused(enhanced_path, "2 stacks (StackID)")


def test_a_missing_per_frame_functional_group_is_refused(enhanced_path):
    ds = pydicom.dcmread(enhanced_path)
    del ds.PerFrameFunctionalGroupsSequence[5]
    ds.save_as(enhanced_path)
    _refused(enhanced_path, "PerFrameFunctionalGroupsSequence has 11 items for 12 frames")
    del ds.PerFrameFunctionalGroupsSequence
    ds.save_as(enhanced_path)
    _refused(enhanced_path, "PerFrameFunctionalGroupsSequence has 0 items for 12 frames")
    ds = pydicom.dcmread(enhanced_path)
    ds.PerFrameFunctionalGroupsSequence = []
    ds.save_as(enhanced_path)
    _refused(enhanced_path, "PerFrameFunctionalGroupsSequence has 0 items for 12 frames")


def test_a_frame_without_plane_position_is_refused(enhanced_path):
    ds = pydicom.dcmread(enhanced_path)
    del ds.PerFrameFunctionalGroupsSequence[3].PlanePositionSequence
    ds.save_as(enhanced_path)
    _refused(enhanced_path, "frame 4 has no PlanePositionSequence")


def test_a_frame_without_frame_content_is_refused(enhanced_path):
    ds = pydicom.dcmread(enhanced_path)
    del ds.PerFrameFunctionalGroupsSequence[0].FrameContentSequence
    ds.save_as(enhanced_path)
    _refused(enhanced_path, "frame 1 has no FrameContentSequence")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("no_units", "has no Real World Value Mapping in PET units"),
        ("mapping_differs", "differs from RescaleSlope/Intercept"),
        ("decay_factor", "DecayCorrected is NO but frame 1 has DecayFactor"),
        ("two_agents", "2 radiopharmaceuticals"),
        ("late_reference", "after the first frame's acquisition and FrameReferenceDateTime is missing"),
    ],
)
def test_inconsistent_enhanced_pet_headers_are_refused(enhanced_path, change, fragment):
    ds = pydicom.dcmread(enhanced_path)
    frames = _frames(ds)
    if change == "no_units":
        del frames[2].RealWorldValueMappingSequence
    elif change == "mapping_differs":
        frames[0].RealWorldValueMappingSequence[0].RealWorldValueSlope *= 1.01
    elif change == "decay_factor":
        ds.DecayCorrected = "NO"
        frames[0].PETFrameCorrectionFactorsSequence[0].DecayFactor = "1.2"
    elif change == "two_agents":
        ds.RadiopharmaceuticalInformationSequence.append(ds.RadiopharmaceuticalInformationSequence[0])
    else:
        ds.DecayCorrectionDateTime = "20250314103000"
        for frame in frames:
            del frame.FrameContentSequence[0].FrameReferenceDateTime
    ds.save_as(enhanced_path)
    _refused(enhanced_path, fragment)


def test_multi_frame_objects_of_other_classes_and_extra_files_are_refused(enhanced_path, tmp_path):
    ds = pydicom.dcmread(enhanced_path)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"  # Enhanced CT
    ds.save_as(tmp_path / "other.dcm")
    _refused(tmp_path / "other.dcm", "multi-frame images (12 frames) are not supported")
    extra = tmp_path / "twice"
    extra.mkdir()
    shutil.copy(enhanced_path, extra / "a.dcm")
    shutil.copy(enhanced_path, extra / "b.dcm")
    with pytest.raises(SeriesError, match="must be the only file of its series"):
        read_pet_series([str(extra / "a.dcm"), str(extra / "b.dcm")])


# ---------------------------------------------------------------- dciodvfy and de-identification


def _dciodvfy_errors(path: Path) -> list[str]:
    assert shutil.which("dciodvfy"), "dciodvfy (Debian dicom3tools) is required"
    proc = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]


@pytest.mark.parametrize("form", FORMS)
def test_deidentification_keeps_enhanced_objects_valid_and_uids_consistent(form, tmp_path):
    info = small_phantom(tmp_path / "classic")
    src = FORMS[form](info.files, tmp_path / "src.dcm")
    out = tmp_path / "deid.dcm"
    deid.deidentify_file(str(src), str(out), "CD8-NL01-007", "p7", b"secret")
    before, after = _dciodvfy_errors(src), _dciodvfy_errors(out)
    if form == "enhanced":
        assert before == [], before  # the generated Enhanced PET object is valid to dciodvfy
    assert [e for e in after if e not in before] == []
    original, cleaned = pydicom.dcmread(src), pydicom.dcmread(out)
    assert cleaned.PatientName == "CD8-NL01-007" and b"Kowalczyk" not in out.read_bytes()
    remap = {str(original.SOPInstanceUID): str(cleaned.SOPInstanceUID)}
    assert cleaned.file_meta.MediaStorageSOPInstanceUID == cleaned.SOPInstanceUID != original.SOPInstanceUID
    organisation = {str(i.DimensionOrganizationUID) for i in cleaned.DimensionOrganizationSequence}
    assert organisation == {str(i.DimensionOrganizationUID) for i in cleaned.DimensionIndexSequence}
    assert organisation == {
        deid.remap_uid(
            str(original.DimensionOrganizationSequence[0].DimensionOrganizationUID), "p7", b"secret"
        )
    }
    if form == "legacy":  # per-frame references to the classic files are remapped as those files' UIDs are
        sources = [f.ConversionSourceAttributesSequence[0] for f in cleaned.PerFrameFunctionalGroupsSequence]
        originals = [
            f.ConversionSourceAttributesSequence[0] for f in original.PerFrameFunctionalGroupsSequence
        ]
        assert [s.ReferencedSOPInstanceUID for s in sources] == [
            deid.remap_uid(str(o.ReferencedSOPInstanceUID), "p7", b"secret") for o in originals
        ]
    assert remap  # the instance itself got a new UID
    a, b = read_pet_series([str(src)]), read_pet_series([str(out)])
    (ra, suv_a), (rb, suv_b) = _suv(a), _suv(b)
    assert rb.suv_bw_factor == ra.suv_bw_factor and np.array_equal(suv_a, suv_b)
    assert b.geometry.frame_of_reference_uid == deid.remap_uid(
        a.geometry.frame_of_reference_uid, "p7", b"secret"
    )


def test_a_seg_drawn_on_the_enhanced_object_selects_the_classic_voxels(tmp_path):

    from quant.pet.phantom import write_seg
    from quant.pet.voi import seg_vois, sphere_voi, voi_metrics

    info = small_phantom(tmp_path / "classic")
    classic = read_pet_series(list(info.files))
    lesion = info.lesions[0]
    sphere = sphere_voi("L", classic.geometry, lesion.centre_mm, lesion.radius_mm)
    mask = np.zeros(classic.geometry.shape, dtype=bool)
    mask[sphere.box] = sphere.mask
    path = true_enhanced(info.files, tmp_path / "e.dcm")
    series = read_pet_series([str(path)])
    in_frame_order = np.zeros_like(mask)
    for z, info_slice in enumerate(series.slices):  # a SEG on a multi-frame source follows its frame order
        in_frame_order[info_slice.frame - 1] = mask[z]
    write_seg(str(tmp_path / "seg.dcm"), [str(path)], {"L": in_frame_order})
    (voi,) = seg_vois(series.geometry, str(tmp_path / "seg.dcm"))
    result, suv = _suv(series)
    _r, classic_suv = _suv(classic)
    got, expected = (
        voi_metrics(suv, voi, series.geometry.spacing),
        voi_metrics(classic_suv, sphere, classic.geometry.spacing),
    )
    assert got.voxel_count == expected.voxel_count == int(mask.sum()) > 0
    assert got.suv_mean == pytest.approx(expected.suv_mean, rel=RTOL)
    assert got.suv_max == pytest.approx(lesion.suv, abs=4e-4)
    assert voi.method.startswith("SEG on the PET grid"), voi.method


def test_a_jpeg_lossless_enhanced_object_gives_identical_values(enhanced_path, tmp_path):
    compressed = tmp_path / "jpeg.dcm"
    subprocess.run(["dcmcjpeg", "+e1", str(enhanced_path), str(compressed)], check=True, capture_output=True)
    plain, jpeg = read_pet_series([str(enhanced_path)]), read_pet_series([str(compressed)])
    assert jpeg.transfer_syntaxes == ("1.2.840.10008.1.2.4.70",) and jpeg.lossy == ()
    assert np.array_equal(plain.volume, jpeg.volume)


def test_pet_suv_refuses_a_dynamic_enhanced_object_with_one_line(enhanced_path):
    ds = pydicom.dcmread(enhanced_path)
    for k, frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
        frame.FrameContentSequence[0].TemporalPositionIndex = 1 + k // 4
    ds.save_as(enhanced_path)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "pet_suv", str(enhanced_path.parent / "classic"), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr  # the classic folder beside it is unaffected
    folder = enhanced_path.parent / "dynamic"
    folder.mkdir()
    shutil.move(enhanced_path, folder / "pet.dcm")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "pet_suv", str(folder), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "dynamic enhanced object with 3 time positions" in lines[0], proc.stderr


def test_a_decay_reference_after_the_acquisition_start_is_placed_by_frame_reference_datetime(enhanced_path):
    from datetime import UTC, datetime, timedelta

    from quant.pet.suv import average_count_time_s

    ds = pydicom.dcmread(enhanced_path)
    ds.DecayCorrectionDateTime = "20250314101600"  # 1 min after the acquisition start (10:15), before T_ave
    for frame in ds.PerFrameFunctionalGroupsSequence:
        content = frame.FrameContentSequence[0]
        start = datetime.strptime(str(content.FrameAcquisitionDateTime)[:14], "%Y%m%d%H%M%S").replace(
            tzinfo=UTC
        )
        t_ave = average_count_time_s(282276.0, float(content.FrameAcquisitionDuration) / 1000.0)
        content.FrameReferenceDateTime = (start + timedelta(seconds=t_ave)).strftime("%Y%m%d%H%M%S.%f")
    ds.save_as(enhanced_path)
    result = compute_suv(read_pet_series([str(enhanced_path)]).header)
    assert result.decay_time_s == pytest.approx(48 * 3600 + 60, abs=1e-3)  # injection 48 h before 10:15
    ds.DecayCorrectionDateTime = "20250314103000"  # after every frame's reference time: not placeable
    ds.save_as(enhanced_path)
    _refused(enhanced_path, "is after a frame's FrameReferenceDateTime")


def test_a_decay_reference_written_with_its_own_utc_offset_is_the_same_instant(enhanced_path):
    """DecayCorrectionDateTime in UTC while the object's clock is +0100: the same decay interval; an offset
    written only there becomes the object's clock (TimezoneOffsetFromUTC of the SUV header)."""
    from datetime import UTC, datetime, timedelta

    ds = pydicom.dcmread(enhanced_path)
    expected = compute_suv(read_pet_series([str(enhanced_path)]).header).decay_time_s
    local = datetime.strptime(str(ds.DecayCorrectionDateTime)[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    ds.TimezoneOffsetFromUTC = "+0100"
    ds.DecayCorrectionDateTime = (local - timedelta(hours=1)).strftime("%Y%m%d%H%M%S") + "+0000"
    ds.save_as(enhanced_path)
    series = read_pet_series([str(enhanced_path)])
    assert series.header.decay_correction == "START"
    assert compute_suv(series.header).decay_time_s == pytest.approx(expected, abs=1e-6)
    del ds.TimezoneOffsetFromUTC
    ds.DecayCorrectionDateTime = local.strftime("%Y%m%d%H%M%S") + "+0100"
    ds.save_as(enhanced_path)
    header = read_pet_series([str(enhanced_path)]).header
    assert header.timezone_offset == "+0100"
    assert compute_suv(header).decay_time_s == pytest.approx(expected, abs=1e-6)
