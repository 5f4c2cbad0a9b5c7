"""Web upload of Enhanced PET and Legacy Converted Enhanced PET objects: same SUV as the classic upload.

The 89Zr phantom is uploaded as classic files for one participant and, made into one enhanced object
(tests/quant/enhanced_pet_objects.py), for another with the same dosing record; the worker runs eagerly.
Expected: the classic upload's SUV factor, whole-volume SUVmax and sphere VOI metrics (rtol 1e-6); one stored
instance, de-identified and still valid to dciodvfy; a dynamic object refused with its one-line message.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imaging import services
from imaging.models import SeriesUpload, UploadState, VoiResult
from tests import factories
from tests.imaging.conftest import make_trial
from tests.quant.enhanced_pet_objects import legacy_converted, true_enhanced

pytestmark = pytest.mark.django_db
RTOL = 1e-6


def _post(client, trial, paths: list[Path]):
    client.force_login(trial.radiologist)
    return client.post(
        reverse("imaging:scan_upload", kwargs={"scan_pk": trial.scan.pk}),
        {"files": [SimpleUploadedFile(p.name, p.read_bytes()) for p in paths]},
        HTTP_ACCEPT="application/json",
    )


def _upload_and_process(client, trial, paths, capture) -> SeriesUpload:
    with capture(execute=True):
        response = _post(client, trial, paths)
    assert response.status_code == 201, response.content[:500]
    upload = SeriesUpload.objects.get(scan=trial.scan)
    assert upload.state == UploadState.DONE, upload.state_message
    return upload


def _sphere_result(trial, lesion, capture) -> VoiResult:
    with capture(execute=True):
        voi = services.voi_create_sphere(
            ctx=factories.ctx_for(trial.radiologist),
            scan=trial.scan,
            name="T1",
            kind="lesion",
            centre_mm=lesion.centre_mm,
            radius_mm=lesion.radius_mm,
        )
    return VoiResult.objects.get(voi=voi)


def _dciodvfy_errors(path: Path) -> list[str]:
    assert shutil.which("dciodvfy"), "dciodvfy (Debian dicom3tools) is required"
    proc = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]


def test_enhanced_uploads_process_to_the_classic_suv(
    client,
    pet_web_media,
    coordinator,
    site_nl,
    radiologist,
    pet_web_series,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    info, directory = pet_web_series()
    classic_paths = sorted(directory.iterdir())
    classic_trial = make_trial(coordinator, site_nl, radiologist)
    classic = _upload_and_process(client, classic_trial, classic_paths, capture)
    classic_voi = _sphere_result(classic_trial, info.lesions[0], capture)
    assert classic.instance_count == 12
    assert classic.suv_before_deid["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)
    for form, make in (("legacy", legacy_converted), ("enhanced", true_enhanced)):
        source = make(classic_paths, tmp_path / f"{form}.dcm")
        trial = make_trial(coordinator, site_nl, radiologist)
        upload = _upload_and_process(client, trial, [source], capture)
        assert upload.instance_count == 1 and upload.instances.count() == 1, form
        assert upload.geometry["shape"] == classic.geometry["shape"] == [12, 40, 40]
        for key in ("suv_bw_factor", "decay_time_s"):
            assert upload.suv_after_deid[key] == pytest.approx(
                classic.suv_after_deid[key], rel=RTOL, abs=1e-9
            )
        assert upload.suv_summary["suv_max"] == pytest.approx(classic.suv_summary["suv_max"], rel=RTOL), form
        assert upload.suv_summary["suv_p99"] == pytest.approx(classic.suv_summary["suv_p99"], rel=RTOL), form
        result = _sphere_result(trial, info.lesions[0], capture)
        for key in ("suv_max", "suv_mean", "suv_peak", "volume_ml"):
            assert getattr(result, key) == pytest.approx(getattr(classic_voi, key), rel=RTOL), (form, key)
        from django.core.files.storage import default_storage

        stored = Path(default_storage.path(upload.instances.get().path))
        ds = pydicom.dcmread(stored)
        assert ds.SOPClassUID == pydicom.dcmread(source, stop_before_pixels=True).SOPClassUID
        assert ds.PatientName == trial.participant.study_id and int(ds.NumberOfFrames) == 12
        assert b"Kowalczyk" not in stored.read_bytes()
        assert [e for e in _dciodvfy_errors(stored) if e not in _dciodvfy_errors(source)] == [], form


def test_a_dynamic_enhanced_object_is_refused_with_one_line(client, pet_web_trial, pet_web_series, tmp_path):
    _info, directory = pet_web_series()
    source = true_enhanced(sorted(directory.iterdir()), tmp_path / "dynamic.dcm")
    ds = pydicom.dcmread(source)
    for k, frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
        frame.FrameContentSequence[0].TemporalPositionIndex = 1 + k // 6
    ds.save_as(source)
    response = _post(client, pet_web_trial, [source])
    assert response.status_code == 400, response.content[:300]
    message = " ".join(m for messages in response.json()["errors"].values() for m in messages)
    assert "dynamic enhanced object with 2 time positions" in message and "\n" not in message
    assert not SeriesUpload.objects.filter(scan=pet_web_trial.scan).exists()
