"""Worker faults: one run per upload at a time, duplicates of finished work skipped, stuck runs re-queued.

A killed worker leaves its upload in "processing" and its message unacknowledged: the broker hands the
message out again after the visibility timeout, and beat re-queues uploads with no progress for
WORKER_STUCK_AFTER_SECONDS (a lost message). Every message carries when it was sent (config/celery.py); a run
is skipped when the upload was completed after that with a result for every live VOI, so the results of
one request are stored once however many copies of its message arrive.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from imaging.models import SeriesUpload, UploadState, VoiResult
from trial.audit import AuditContext, write_entry
from trial.models import AuditSource
from trial.worker_locks import work_lock


def series_process_claimed(upload_id: int, *, sent_at: str | None) -> dict[str, Any]:
    """Run series_process holding the upload's lock, unless a run completed since the message was sent."""
    from imaging.services.processing import series_process

    with work_lock("imaging.series_upload", upload_id):
        if sent_at and _done_since(upload_id, sent_at):
            return {"upload": upload_id, "skipped": "already done"}
        return series_process(upload_id)


def _done_since(upload_id: int, sent_at: str) -> bool:
    """Done after the message was sent, with a result for every live VOI."""
    upload = SeriesUpload.objects.filter(pk=upload_id).only("state", "processed_at").first()
    if upload is None or upload.state != UploadState.DONE or upload.processed_at is None:
        return False
    if upload.processed_at < dt.datetime.fromisoformat(sent_at):
        return False
    live = upload.vois.filter(voided=False)
    return VoiResult.objects.filter(voi__in=live).count() == live.count()


def pause_for_tests() -> None:
    """Test-only: PET_PROCESSING_TEST_DELAY_SECONDS holds the run mid-way, so a test can kill the worker."""
    if settings.PET_PROCESSING_TEST_DELAY_SECONDS > 0:
        time.sleep(settings.PET_PROCESSING_TEST_DELAY_SECONDS)


def series_upload_time_limit(upload_id: int, limit_s: int) -> None:
    """The soft time limit stopped the run: mark the upload failed with the reason."""
    SeriesUpload.objects.filter(pk=upload_id, state=UploadState.PROCESSING).update(
        state=UploadState.FAILED,
        state_message=f"Processing failed: stopped after the {limit_s} s time limit",
        updated_at=timezone.now(),
    )


def stuck_uploads_requeue() -> dict[str, list[int]]:
    """Beat: re-queue uploads with no progress in "processing" (or fail them after the last attempt)."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.WORKER_STUCK_AFTER_SECONDS)
    outcome: dict[str, list[int]] = {"requeued": [], "failed": []}
    with transaction.atomic():
        stuck = SeriesUpload.objects.select_for_update(skip_locked=True).filter(
            state=UploadState.PROCESSING, updated_at__lt=cutoff, voided=False
        )
        for upload in stuck:
            if upload.attempts >= settings.WORKER_MAX_ATTEMPTS:
                _mark(
                    upload, UploadState.FAILED, f"Processing failed: no progress after {upload.attempts} runs"
                )
                outcome["failed"].append(upload.pk)
            else:
                _mark(upload, UploadState.STORED, "Re-queued: the worker stopped without finishing")
                transaction.on_commit(lambda pk=upload.pk: _requeue(pk))
                outcome["requeued"].append(upload.pk)
    return outcome


def _mark(upload: SeriesUpload, state: str, message: str) -> None:
    SeriesUpload.objects.filter(pk=upload.pk).update(
        state=state, state_message=message, version=F("version") + 1, updated_at=timezone.now()
    )
    write_entry(
        upload,
        ctx=AuditContext.system(source=AuditSource.WORKER),
        action="update",
        changes={"state": [upload.state, state], "version": [upload.version, upload.version + 1]},
        reason=f"{message} (no progress for {settings.WORKER_STUCK_AFTER_SECONDS} s)",
    )


def _requeue(upload_id: int) -> None:
    from imaging.tasks import process_series_upload

    process_series_upload.delay(upload_id)
