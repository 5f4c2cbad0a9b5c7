"""Celery tasks (thin: ids in, services do the work)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_jitter=True,
    max_retries=5,
)
def process_series_upload(upload_id: int) -> dict:
    """SUV volume, MIP and every VOI's metrics of one stored upload (idempotent: results updated in place)."""
    from imaging.services import series_process

    return series_process(upload_id)
