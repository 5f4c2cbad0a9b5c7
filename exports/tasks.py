"""Celery tasks of the exports app (thin: ids in, work in exports.bulk)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_bulk_export(job_id: int, pause_seconds: float = 0.0) -> int:
    """Write the snapshot zip of one job, once: a duplicate or re-queued message of a finished job is skipped."""
    from exports import bulk
    from exports.recovery import is_finished
    from trial.worker_locks import work_lock

    with work_lock("exports.export_job", job_id):
        if not is_finished(job_id):
            bulk.run(job_id, pause_seconds=pause_seconds)
    return job_id


@shared_task(acks_late=True)
def requeue_stuck_exports() -> dict:
    """Beat: re-queue bulk exports left "running" by a lost worker (see WORKER_STUCK_AFTER_SECONDS)."""
    from exports.recovery import stuck_exports_requeue

    return stuck_exports_requeue(enqueue=lambda pk: run_bulk_export.delay(pk))
