from __future__ import annotations

import os

import pytest

from tests import factories
from tests.worker import wait_for
from trial.logging import request_id_var
from trial.models import AuditEntry
from trial.tasks import record_worker_heartbeat

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_task_goes_through_redis_to_a_real_worker_and_writes_to_the_database(celery_worker_process):
    site = factories.make_site()
    token = request_id_var.set("rid-round-trip-1")
    try:
        result = record_worker_heartbeat.delay(site.pk)
    finally:
        request_id_var.reset(token)
    payload = result.get(timeout=60)
    assert payload["pid"] == celery_worker_process.pid
    assert payload["pid"] != os.getpid()
    entry = wait_for(lambda: AuditEntry.objects.filter(pk=payload["audit_entry_id"]).first())
    assert entry.source == "worker"
    assert entry.changes == {"worker_pid": [None, celery_worker_process.pid]}
    assert entry.request_id == "rid-round-trip-1", "the request id travels with the task into the worker"
