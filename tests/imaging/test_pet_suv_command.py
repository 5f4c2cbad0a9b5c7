"""``manage.py pet_suv`` as a process: JSON contract, exit codes and one-line messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from tests.quant.pet.phantoms import small_phantom

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = {
    "suv_max",
    "suv_mean",
    "suv_min",
    "suv_median",
    "suv_sd",
    "suv_peak",
    "volume_ml",
    "voxel_count",
    "mtv41_ml",
    "tlg41",
}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "pet_suv", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_refused(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and fragment in lines[0], lines[0]


def _sphere(lesion) -> str:
    x, y, z = lesion.centre_mm
    return f"{lesion.name}:{x},{y},{z},{lesion.radius_mm}"


@pytest.fixture
def pet_dir(tmp_path):
    info = small_phantom(tmp_path / "series")
    return info, tmp_path / "series"


def test_json_contract(pet_dir):
    info, folder = pet_dir
    lesion_a, lesion_b = info.lesions[0], info.lesions[1]
    proc = _run(folder, "--sphere", _sphere(lesion_a), "--sphere", _sphere(lesion_b), "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)
    assert payload["decay_time_s"] == pytest.approx(48 * 3600)
    assert payload["warnings"] == []
    assert set(payload["vois"]) == {"lesion_a", "lesion_b"}
    for lesion in (lesion_a, lesion_b):
        metrics = payload["vois"][lesion.name]
        assert set(metrics) >= CONTRACT
        assert metrics["suv_max"] == pytest.approx(lesion.suv, abs=4e-4)
        assert metrics["suv_mean"] == pytest.approx(lesion.suv, abs=4e-4)


def test_nifti_mask_and_rtstruct_and_seg_options(pet_dir, tmp_path):
    from quant.pet.phantom import write_nifti_mask, write_rtstruct, write_seg
    from quant.pet.series import read_pet_series
    from quant.pet.voi import sphere_voi

    info, folder = pet_dir
    series = read_pet_series(info.files)
    lesion = info.lesions[0]
    mask = sphere_voi("a", series.geometry, lesion.centre_mm, lesion.radius_mm).full(series.geometry.shape)
    write_nifti_mask(str(tmp_path / "m.nii.gz"), mask, series.geometry.affine, flip_axes=(0,))
    write_rtstruct(str(tmp_path / "rs.dcm"), info.files, {"rt": mask})
    write_seg(str(tmp_path / "seg.dcm"), info.files, {"sg": mask})
    proc = _run(
        folder,
        "--sphere",
        _sphere(lesion),
        "--mask",
        f"nii:{tmp_path / 'm.nii.gz'}",
        "--rtstruct",
        tmp_path / "rs.dcm",
        "--roi",
        "rt",
        "--seg",
        tmp_path / "seg.dcm",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    vois = json.loads(proc.stdout)["vois"]
    assert {vois[k]["voxel_count"] for k in ("lesion_a", "nii", "rt", "sg")} == {
        vois["lesion_a"]["voxel_count"]
    }


def test_mixed_series_refused(pet_dir, tmp_path):
    info, folder = pet_dir
    other = small_phantom(tmp_path / "other", shape=(4, 40, 40))
    for i, path in enumerate(other.files):
        Path(path).rename(folder / f"other_{i}.dcm")
    _assert_refused(_run(folder, "--json"), "2 series")


def test_truncated_file_refused(pet_dir):
    info, folder = pet_dir
    data = Path(info.files[2]).read_bytes()
    Path(info.files[2]).write_bytes(data[:-700])
    proc = _run(folder, "--json")
    assert proc.returncode != 0 and ("truncated" in proc.stderr or "unreadable" in proc.stderr)
    _assert_refused(proc, "PT_0002.dcm")


def test_a_non_dicom_file_is_ignored_and_listed(pet_dir):
    info, folder = pet_dir
    (folder / "readme.txt").write_text("hello")
    proc = _run(folder, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ignored_files"] == [
        {"file": "readme.txt", "reason": "not a DICOM file (no preamble/DICM prefix)"}
    ]
    assert out["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)


def test_missing_weight_needs_option(pet_dir):
    info, folder = pet_dir
    for path in info.files:
        ds = pydicom.dcmread(path)
        del ds.PatientWeight
        ds.save_as(path)
    _assert_refused(_run(folder, "--json"), "PatientWeight is missing")
    proc = _run(folder, "--weight-kg", "75", "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)


def test_time_only_injection_needs_injection_time(tmp_path):
    info = small_phantom(tmp_path / "s", injection="time_only")
    _assert_refused(_run(tmp_path / "s", "--json"), "dosing record")
    when = info.injection_datetime.replace(tzinfo=None).isoformat()
    proc = _run(tmp_path / "s", "--injection-time", when, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)


def test_half_life_not_89zr_refused(tmp_path):
    small_phantom(tmp_path / "s", half_life_s=6586.2)
    _assert_refused(_run(tmp_path / "s", "--json"), "not 89Zr")


def test_bad_arguments_are_one_line(pet_dir):
    _, folder = pet_dir
    _assert_refused(_run(folder, "--sphere", "oops", "--json"), "NAME:X,Y,Z,R")
    _assert_refused(_run(folder, "--rtstruct", "x.dcm", "--json"), "--roi")
    _assert_refused(_run(folder, "--injection-time", "yesterday", "--json"), "ISO 8601")


def test_django_command_wraps_the_same_contract(pet_dir):
    from django.core.management import CommandError, call_command

    info, folder = pet_dir
    with pytest.raises(CommandError, match="not 89Zr|PatientWeight"):
        for path in info.files:
            ds = pydicom.dcmread(path)
            ds.RadiopharmaceuticalInformationSequence[0].RadionuclideHalfLife = "6586.2"
            ds.save_as(path)
        call_command("pet_suv", str(folder), "--json")
