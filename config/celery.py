"""Celery application: tasks are thin wrappers that take ids and call services."""

import os
from datetime import UTC, datetime

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cd8pet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "purge-idempotency-keys": {"task": "trial.tasks.purge_idempotency_keys", "schedule": 6 * 3600.0},
    # Audit entries are sealed after commit; this catches seals lost with a killed process.
    "seal-audit-entries": {"task": "trial.tasks.seal_audit_entries", "schedule": 60.0},
}

# --- Worker faults (deploy): re-queue work a lost worker left in "processing" ----------------------
app.conf.beat_schedule.update(
    {
        name: {"task": task, "schedule": float(settings.WORKER_STUCK_CHECK_SECONDS)}
        for name, task in {
            "requeue-stuck-pet-uploads": "imaging.tasks.requeue_stuck_uploads",
            "requeue-stuck-bulk-exports": "exports.tasks.requeue_stuck_exports",
        }.items()
    }
)

_tokens: dict[str, object] = {}


@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs) -> None:
    """Send the current request id with the task, so a worker's log lines and audit rows can be followed."""
    from trial.logging import request_id_var

    if headers is not None:
        headers.setdefault("request_id", request_id_var.get())
        # When the work was asked for: a recovery run skips work completed since (imaging/services/recovery.py).
        headers.setdefault("sent_at", datetime.now(UTC).isoformat())


@task_prerun.connect
def _restore_request_id(task_id=None, task=None, **kwargs) -> None:
    from trial.logging import request_id_var

    rid = getattr(task.request, "request_id", None) if task is not None else None
    if rid and task_id:
        _tokens[task_id] = request_id_var.set(rid)


@task_postrun.connect
def _forget_request_id(task_id=None, **kwargs) -> None:
    from trial.logging import request_id_var

    token = _tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)
