"""Upload service end to end (eager worker): validation, cross-checks, de-identification, storage, results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from imaging import services
from imaging.models import Finding, ScanStatus, SeriesUpload, StoredInstance, UploadState, VoiResult
from tests import factories

pytestmark = pytest.mark.django_db


def ingest(trial, directory: Path, tmp_path: Path, **kwargs):
    files = [(p, p.name) for p in sorted(directory.iterdir())]
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return services.series_upload_ingest(
        ctx=factories.ctx_for(trial.radiologist), scan=trial.scan, files=files, work_dir=work, **kwargs
    )


def test_a_phantom_is_stored_de_identified_and_analysed_with_the_known_suv(
    pet_web_trial, pet_web_series, tmp_path, django_capture_on_commit_callbacks
):
    info, directory = pet_web_series()
    with django_capture_on_commit_callbacks(execute=True):
        upload = ingest(pet_web_trial, directory, tmp_path)
    upload.refresh_from_db()
    assert upload.state == UploadState.DONE, upload.state_message
    # The dosing record (37.0 MBq net, 10:15 wall clock) equals the header: the factor is the phantom's.
    assert upload.suv_before_deid["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)
    assert upload.suv_after_deid["suv_bw_factor"] == upload.suv_before_deid["suv_bw_factor"]
    assert upload.suv_after_deid["decay_time_s"] == pytest.approx(48 * 3600, abs=1e-6)
    assert upload.instance_count == 12
    assert StoredInstance.objects.filter(upload=upload).count() == 12
    assert all(default_storage.exists(i.path) for i in upload.instances.all())
    assert default_storage.exists(upload.mip_path)
    assert not Finding.objects.filter(upload=upload, severity__in=["warning", "error"]).exists()
    scan = upload.scan
    scan.refresh_from_db()
    assert scan.status == ScanStatus.ANALYSED

    lesion = info.lesions[0]
    with django_capture_on_commit_callbacks(execute=True):
        voi = services.voi_create_sphere(
            ctx=factories.ctx_for(pet_web_trial.radiologist),
            scan=scan,
            name="T1",
            kind="lesion",
            centre_mm=lesion.centre_mm,
            radius_mm=lesion.radius_mm,
        )
    result = VoiResult.objects.get(voi=voi)
    truth_mask = np.zeros(info.shape, dtype=bool)
    assert result.suv_max == pytest.approx(lesion.suv, rel=2e-4)
    assert result.suv_mean == pytest.approx(lesion.suv, rel=2e-4)
    assert result.pct_id_per_kg_mean == pytest.approx(100 * lesion.suv / 75.0, rel=2e-4)
    assert result.provenance["engine_version"] == services.ENGINE_VERSION
    assert result.provenance["input_checksums"]["instances"] == 12
    assert "2^(-(t_ref - t_inj)/T_half)" in result.provenance["formula"]
    assert truth_mask.shape == info.shape


def test_a_repeated_upload_of_the_same_instances_is_recognised_and_stores_nothing(
    pet_web_trial, pet_web_series, tmp_path
):
    _info, directory = pet_web_series()
    ingest(pet_web_trial, directory, tmp_path)
    before = (SeriesUpload.objects.count(), StoredInstance.objects.count())
    with pytest.raises(ValidationError) as exc:
        ingest(pet_web_trial, directory, tmp_path)
    assert "already uploaded" in str(exc.value)
    assert (SeriesUpload.objects.count(), StoredInstance.objects.count()) == before
