"""A freeze or lock that arrives while the worker computes a PET series (after its up-front check, before the
results are written) refuses the writes: nothing is half-stored (no VOI result, no MIP, the scan not marked
analysed, an earlier run's results and MIP untouched), the refusal is recorded (monitoring.RefusedWrite,
audited, on the data manager's overview) and the upload shows the lock's message, back in the state it had.

The lock is real: the run's test hook (imaging.services.processing.pause_for_tests, our own code) is replaced
by one that applies it through the monitoring service mid-run, as a data manager would at that moment.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from imaging import services
from imaging.models import ScanStatus, UploadState, VoiResult
from imaging.services import processing
from imaging.tasks import process_series_upload
from monitoring import services as monitoring_services
from monitoring.models import RefusedWrite
from tests import factories
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


def _stored_upload(trial, series, tmp_path):
    """The phantom uploaded and stored, with one sphere VOI; the worker's run is not started (the task is queued
    on commit, and this test's transaction never commits)."""
    info, directory = series()
    work = tmp_path / "work"
    work.mkdir()
    ctx = factories.ctx_for(trial.radiologist)
    upload = services.series_upload_ingest(
        ctx=ctx,
        scan=trial.scan,
        files=[(p, p.name) for p in sorted(Path(directory).iterdir())],
        work_dir=work,
    )
    lesion = info.lesions[0]
    voi = services.voi_create_sphere(
        ctx=ctx,
        scan=trial.scan,
        name="T1",
        kind="lesion",
        centre_mm=lesion.centre_mm,
        radius_mm=lesion.radius_mm,
    )
    return upload, voi


def _lock_midway(monkeypatch, data_manager, **lock) -> list:
    """Apply a real freeze/lock at the run's mid-point hook (after the up-front check and the SUV computation)."""
    applied: list = []

    def hook() -> None:
        applied.append(monitoring_services.lock_apply(ctx=factories.ctx_for(data_manager), **lock))

    monkeypatch.setattr(processing, "pause_for_tests", hook)
    return applied


def _files(upload) -> list[str]:
    return sorted(default_storage.listdir(upload.storage_dir)[1])


def test_a_casebook_lock_arriving_mid_run_stores_nothing_and_is_recorded(
    pet_web_trial, pet_web_series, tmp_path, data_manager, monkeypatch
):
    upload, voi = _stored_upload(pet_web_trial, pet_web_series, tmp_path)
    assert upload.state == UploadState.STORED and not upload.mip_path
    files_before = _files(upload)
    participant = pet_web_trial.participant
    applied = _lock_midway(
        monkeypatch,
        data_manager,
        scope="participant",
        object_id=participant.pk,
        reason="Interim database lock",
    )

    outcome = process_series_upload.delay(upload.pk).get()  # eager, as in tests/conftest.py

    assert len(applied) == 1  # the lock came after the up-front check passed
    assert "Interim database lock" in outcome["refused"]
    upload.refresh_from_db()
    assert upload.state == UploadState.STORED and upload.attempts == 1  # back where it stood
    assert upload.state_message.startswith("Processing refused, nothing stored:")
    assert "Interim database lock" in upload.state_message
    assert (upload.mip_path, upload.suv_summary, upload.processed_at) == ("", {}, None)
    assert not VoiResult.objects.filter(voi=voi).exists()
    assert _files(upload) == files_before  # no MIP file left behind
    pet_web_trial.scan.refresh_from_db()
    assert pet_web_trial.scan.status != ScanStatus.ANALYSED
    assert not AuditEntry.objects.filter(app_label="imaging", model="voiresult").exists()

    refused = RefusedWrite.objects.get()
    assert (refused.what, refused.source, refused.participant_id) == (
        "PET series processing",
        "worker",
        participant.pk,
    )
    assert (refused.app_label, refused.model, refused.object_id) == (
        "imaging",
        "seriesupload",
        str(upload.pk),
    )
    assert "Interim database lock" in refused.message
    entry = AuditEntry.objects.get(app_label="monitoring", model="refusedwrite", object_id=str(refused.pk))
    assert entry.reason == refused.message and entry.source == "worker"
    states = [
        e.changes["state"]
        for e in AuditEntry.objects.filter(
            app_label="imaging", model="seriesupload", object_id=str(upload.pk)
        )
        .exclude(changes__state=None)
        .order_by("id")
    ]
    assert states[-2:] == [["stored", "processing"], ["processing", "stored"]]

    # run again while the lock stands: refused up front, before the run starts, and shown on the upload too
    upload.state_message = ""
    upload.save(update_fields=["state_message"])  # test data only: to see the message written again
    assert "Interim database lock" in process_series_upload.delay(upload.pk).get()["refused"]
    upload.refresh_from_db()
    assert (upload.state, upload.attempts) == (UploadState.STORED, 1)
    assert upload.state_message.startswith("Processing refused, nothing stored:")
    assert RefusedWrite.objects.count() == 2

    # released: the same upload is processed in full
    monitoring_services.lock_release(ctx=factories.ctx_for(data_manager), lock=applied[0], reason="Reopened")
    monkeypatch.setattr(processing, "pause_for_tests", lambda: None)
    assert process_series_upload.delay(upload.pk).get()["vois"] == 1
    upload.refresh_from_db()
    assert upload.state == UploadState.DONE and default_storage.exists(upload.mip_path)
    assert VoiResult.objects.filter(voi=voi).exists()


def test_a_record_freeze_of_a_voi_mid_recompute_keeps_the_earlier_results_and_mip(
    pet_web_trial, pet_web_series, tmp_path, data_manager, monkeypatch
):
    upload, voi = _stored_upload(pet_web_trial, pet_web_series, tmp_path)
    monkeypatch.setattr(processing, "pause_for_tests", lambda: None)
    assert process_series_upload.delay(upload.pk).get()["vois"] == 1
    upload.refresh_from_db()
    first = VoiResult.objects.get(voi=voi)
    done_state = (upload.state, upload.mip_path, upload.suv_summary, upload.processed_at)
    files_done = _files(upload)
    assert upload.mip_path.rsplit("/", 1)[1] in files_done
    _lock_midway(
        monkeypatch,
        data_manager,
        scope="record",
        kind="freeze",
        resource="vois",
        object_id=voi.pk,
        reason="VOI review",
    )

    outcome = process_series_upload.delay(upload.pk).get()

    assert "VOI review" in outcome["refused"] and "frozen" in outcome["refused"]
    upload.refresh_from_db()
    assert (upload.state, upload.mip_path, upload.suv_summary, upload.processed_at) == done_state
    assert "Processing refused, nothing stored" in upload.state_message and upload.progress == 100
    again = VoiResult.objects.get(voi=voi)
    assert (again.computed_at, again.suv_mean) == (first.computed_at, first.suv_mean)  # untouched
    assert _files(upload) == files_done and default_storage.exists(upload.mip_path)
    refused = RefusedWrite.objects.get()
    assert refused.what == "PET series processing" and "VOI review" in refused.message
