"""A real Celery worker computes SUV, the MIP and VOI metrics after the upload commits; re-running updates
in place (idempotent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imaging import services
from imaging.models import UploadState, VoiResult
from imaging.tasks import process_series_upload
from tests import factories
from tests.worker import wait_for
from trial.models import AuditEntry

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_upload_to_results_through_a_real_worker_is_idempotent(
    pet_web_trial, pet_web_series, tmp_path, celery_worker_process
):
    info, directory = pet_web_series()
    work = tmp_path / "work"
    work.mkdir()
    ctx = factories.ctx_for(pet_web_trial.radiologist)
    upload = services.series_upload_ingest(
        ctx=ctx,
        scan=pet_web_trial.scan,
        files=[(p, p.name) for p in sorted(Path(directory).iterdir())],
        work_dir=work,
    )

    def done():
        upload.refresh_from_db()
        return upload.state in (UploadState.DONE, UploadState.FAILED)

    wait_for(done, timeout=90)
    assert upload.state == UploadState.DONE, upload.state_message
    assert AuditEntry.objects.filter(
        model="scan", object_id=str(pet_web_trial.scan.pk), source="worker"
    ).exists()

    lesion = info.lesions[2]
    voi = services.voi_create_sphere(
        ctx=ctx,
        scan=pet_web_trial.scan,
        name="T3",
        kind="lesion",
        centre_mm=lesion.centre_mm,
        radius_mm=lesion.radius_mm,
    )
    result = wait_for(lambda: VoiResult.objects.filter(voi=voi).first(), timeout=90)
    assert result.suv_mean == pytest.approx(lesion.suv, rel=2e-4)
    first_computed = result.computed_at

    payload = process_series_upload.delay(upload.pk).get(timeout=90)
    assert payload == {
        "upload": upload.pk,
        "vois": 1,
        "suv_bw_factor": pytest.approx(info.suv_bw_factor, rel=1e-9),
    }
    assert VoiResult.objects.filter(voi=voi).count() == 1
    again = VoiResult.objects.get(voi=voi)
    assert again.pk == result.pk and again.computed_at > first_computed
    assert again.suv_mean == result.suv_mean
