"""Celery tasks of the exports app (thin: ids in, work in exports.bulk)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def run_bulk_export(job_id: int, pause_seconds: float = 0.0) -> int:
    from exports import bulk

    bulk.run(job_id, pause_seconds=pause_seconds)
    return job_id
