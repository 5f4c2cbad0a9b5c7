"""Beat's stuck-upload job through a real worker: an upload left "processing" by a lost message is re-queued
(audited as the worker) and finished; running the job again re-queues nothing; the last attempt fails it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from imaging import services
from imaging.models import SeriesUpload, UploadState
from imaging.tasks import requeue_stuck_uploads
from tests import factories
from tests.worker import wait_for
from trial.models import AuditEntry

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _lost_mid_run(upload: SeriesUpload, attempts: int) -> None:
    """What a worker killed at 48 % whose message is gone leaves behind."""
    long_ago = timezone.now() - dt.timedelta(seconds=settings.WORKER_STUCK_AFTER_SECONDS + 60)
    SeriesUpload.objects.filter(pk=upload.pk).update(
        state=UploadState.PROCESSING, progress=48, attempts=attempts, updated_at=long_ago
    )


def test_stuck_upload_is_requeued_once_audited_and_finished(
    pet_web_trial, pet_web_series, tmp_path, celery_worker_process
):
    _info, directory = pet_web_series()
    upload = services.series_upload_ingest(
        ctx=factories.ctx_for(pet_web_trial.radiologist),
        scan=pet_web_trial.scan,
        files=[(p, p.name) for p in sorted(Path(directory).iterdir())],
        work_dir=tmp_path,
    )
    wait_for(lambda: SeriesUpload.objects.get(pk=upload.pk).state == UploadState.DONE, timeout=90)
    _lost_mid_run(upload, attempts=1)

    assert requeue_stuck_uploads.delay().get(timeout=60) == {"requeued": [upload.pk], "failed": []}
    assert requeue_stuck_uploads.delay().get(timeout=60) == {"requeued": [], "failed": []}  # idempotent
    entry = AuditEntry.objects.get(
        model="seriesupload", object_id=str(upload.pk), reason__startswith="Re-queued"
    )
    assert entry.source == "worker" and entry.changes["state"] == ["processing", "stored"]
    done = wait_for(
        lambda: SeriesUpload.objects.filter(pk=upload.pk, state=UploadState.DONE).first(), timeout=90
    )
    assert done.attempts == 2 and done.progress == 100

    _lost_mid_run(upload, attempts=settings.WORKER_MAX_ATTEMPTS)
    assert requeue_stuck_uploads.delay().get(timeout=60) == {"requeued": [], "failed": [upload.pk]}
    failed = SeriesUpload.objects.get(pk=upload.pk)
    assert failed.state == UploadState.FAILED and "no progress after 3 runs" in failed.state_message
