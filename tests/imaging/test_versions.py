"""Upload state changes by the worker lock the row, re-check the state, raise the version and are audited."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import transaction

from imaging import services
from imaging.models import SeriesUpload, UploadState
from tests import factories
from tests.threads import in_threads
from trial import services as trial_services
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)  # the worker and the void run in real threads


def processed_upload(trial, directory: Path, tmp_path: Path) -> SeriesUpload:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    files = [(p, p.name) for p in sorted(directory.iterdir())]
    upload = services.series_upload_ingest(
        ctx=factories.ctx_for(trial.radiologist), scan=trial.scan, files=files, work_dir=work
    )
    upload.refresh_from_db()
    assert upload.state == UploadState.DONE, upload.state_message
    return upload


def worker_steps(upload: SeriesUpload) -> list[tuple[list, list]]:
    entries = AuditEntry.objects.filter(model="seriesupload", object_id=str(upload.pk), source="worker")
    return [(e.changes["state"], e.changes["version"]) for e in entries if "state" in e.changes]


def test_worker_state_changes_raise_the_version_and_are_audited(pet_web_trial, pet_web_series, tmp_path):
    _info, directory = pet_web_series()
    upload = processed_upload(pet_web_trial, directory, tmp_path)
    steps = worker_steps(upload)
    assert [s[0][1] for s in steps] == [UploadState.PROCESSING, UploadState.DONE]
    assert steps[1][1][0] == steps[0][1][1] and steps[1][1][1] == upload.version


def test_a_late_worker_run_never_moves_an_upload_voided_meanwhile(pet_web_trial, pet_web_series, tmp_path):
    _info, directory = pet_web_series()
    upload = processed_upload(pet_web_trial, directory, tmp_path)
    voiding = threading.Event()

    def void_slowly():
        with transaction.atomic():
            trial_services.record_void(
                ctx=factories.ctx_for(pet_web_trial.radiologist), instance=upload, reason="wrong series"
            )
            voiding.set()
            time.sleep(1.0)  # the void holds the row while the redelivered task arrives

    def redelivered_task():
        assert voiding.wait(timeout=10)
        return services.series_process(upload.pk)

    _, result = in_threads(void_slowly, redelivered_task)

    assert result == {"skipped": "voided"}, result
    fresh = SeriesUpload.objects.get(pk=upload.pk)
    assert fresh.voided and fresh.state == UploadState.DONE and fresh.attempts == upload.attempts
    assert worker_steps(fresh) == worker_steps(upload)  # nothing more from the worker
