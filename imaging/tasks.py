"""Celery tasks (thin: ids in, services do the work)."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_jitter=True,
    max_retries=5,
)
def process_series_upload(self, upload_id: int) -> dict:
    """SUV volume, MIP and every VOI's metrics of one stored upload (idempotent: results updated in place).

    A copy of a message whose work was completed since it was sent (redelivered after a worker died, or
    re-queued by beat) is skipped: imaging/services/recovery.py.
    """
    from imaging.services.recovery import series_process_claimed, series_upload_time_limit

    try:
        return series_process_claimed(upload_id, sent_at=getattr(self.request, "sent_at", None))
    except SoftTimeLimitExceeded:
        soft = (self.request.timelimit or (None, None))[1] or settings.TASK_TIME_LIMITS[self.name][0]
        series_upload_time_limit(upload_id, int(soft))
        raise


@shared_task(acks_late=True)
def requeue_stuck_uploads() -> dict:
    """Beat: re-queue PET uploads left in "processing" by a lost worker (see WORKER_STUCK_AFTER_SECONDS)."""
    from imaging.services.recovery import stuck_uploads_requeue

    return stuck_uploads_requeue()
