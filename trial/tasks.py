"""Trial tasks (thin). `record_worker_heartbeat` proves the Celery round trip in tests and health checks."""

from __future__ import annotations

import os

from celery import shared_task

from trial.audit import AuditContext
from trial.models import AuditSource


@shared_task(acks_late=True)
def record_worker_heartbeat(site_id: int) -> dict:
    """Write an audited marker row from the worker process (used to prove a real round trip)."""
    from trial.audit import write_entry
    from trial.models import Site

    site = Site.objects.get(pk=site_id)
    entry = write_entry(
        site,
        ctx=AuditContext.system(source=AuditSource.WORKER),
        action="update",
        changes={"worker_pid": [None, os.getpid()]},
        reason="worker heartbeat",
    )
    return {"pid": os.getpid(), "audit_entry_id": entry.pk}


@shared_task(acks_late=True)
def purge_idempotency_keys() -> int:
    """Beat: delete idempotency keys and form tokens past IDEMPOTENCY_KEY_TTL_HOURS."""
    from trial.idempotency import purge_expired

    return purge_expired()


@shared_task(acks_late=True)
def seal_audit_entries() -> int:
    """Beat: seal audit entries whose after-commit seal was missed (process killed after commit)."""
    from trial.audit_chain import seal_pending

    return seal_pending()
