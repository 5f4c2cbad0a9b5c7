"""Bulk exports after a lost worker, through a real worker: a job left "running" is re-queued by beat's job
(audited as the worker) and written once; a duplicate message of a finished job writes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from exports.models import ExportJob
from exports.tasks import requeue_stuck_exports, run_bulk_export
from tests import factories
from tests.worker import running_worker, wait_for
from trial.models import AuditEntry

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_with_own_media(settings, tmp_path, transactional_db):
    settings.MEDIA_ROOT = tmp_path / "media"
    with running_worker() as proc:
        yield proc


def test_running_export_of_a_lost_worker_is_requeued_and_written_once(
    worker_with_own_media, coordinator, site_nl, data_manager
):
    factories.enrol(coordinator, site_nl)
    long_ago = timezone.now() - dt.timedelta(seconds=settings.WORKER_STUCK_AFTER_SECONDS + 60)
    job = ExportJob.objects.create(
        requested_by=data_manager, status=ExportJob.Status.RUNNING, started_at=long_ago, progress=48
    )
    assert requeue_stuck_exports.delay().get(timeout=60) == {"requeued": [job.pk]}
    assert requeue_stuck_exports.delay().get(timeout=60) == {"requeued": []}  # idempotent
    entry = AuditEntry.objects.get(model="exportjob", object_id=str(job.pk))
    assert entry.source == "worker" and entry.changes["status"] == ["running", "queued"]
    done = wait_for(
        lambda: ExportJob.objects.filter(pk=job.pk, status__in=["done", "failed"]).first(), timeout=120
    )
    assert done.status == "done", done.error

    run_bulk_export.delay(job.pk).get(timeout=60)  # a duplicate (e.g. redelivered) message
    again = ExportJob.objects.get(pk=job.pk)
    assert (again.file, again.finished_at) == (done.file, done.finished_at)
    assert len(list((Path(settings.MEDIA_ROOT) / "exports").glob(f"export-{job.pk}-*.zip"))) == 1
