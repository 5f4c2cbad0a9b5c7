"""Worker faults of bulk exports: a finished job never runs again; jobs left "running" are re-queued."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exports.models import ExportJob
from trial.audit import AuditContext, write_entry
from trial.models import AuditSource

FINISHED = (ExportJob.Status.DONE, ExportJob.Status.FAILED)


def is_finished(job_id: int) -> bool:
    """An export job is one request: once done or failed, a duplicate message has nothing to do."""
    return ExportJob.objects.filter(pk=job_id, status__in=FINISHED).exists()


def stuck_exports_requeue(*, enqueue: Callable[[int], None]) -> dict[str, list[int]]:
    """Re-queue jobs "running" for longer than WORKER_STUCK_AFTER_SECONDS (their worker is gone)."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.WORKER_STUCK_AFTER_SECONDS)
    outcome: dict[str, list[int]] = {"requeued": []}
    with transaction.atomic():
        stuck = ExportJob.objects.select_for_update(skip_locked=True).filter(
            status=ExportJob.Status.RUNNING, started_at__lt=cutoff
        )
        for job in stuck:
            ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.QUEUED, step="re-queued")
            write_entry(
                job,
                ctx=AuditContext.system(source=AuditSource.WORKER),
                action="update",
                changes={"status": [job.status, ExportJob.Status.QUEUED]},
                reason=f"Re-queued: running for more than {settings.WORKER_STUCK_AFTER_SECONDS} s (worker lost)",
            )
            transaction.on_commit(lambda pk=job.pk: enqueue(pk))
            outcome["requeued"].append(job.pk)
    return outcome
