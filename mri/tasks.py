"""Celery tasks (thin: ids in, mri.services does the work)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    max_retries=5,
)
def make_maps(self, job_id: int) -> dict:
    """Voxel-wise parameter maps of one MR map job (NIfTI, Parametric Map, PNG); progress on the job."""
    from mri.services import map_job_run

    return map_job_run(job_id)
