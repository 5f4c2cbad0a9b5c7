"""Freeze and lock against the MRI map worker and the ROI page action (issue 12), on real locks.

A locked casebook or map job refuses the worker before any work; a lock that arrives while the maps are
fitted refuses the results as a whole: the map files the run saved are removed again, no MrMap row or audit
entry is stored, the job ends "failed" with "refused: ...; nothing stored" (never "running"), and the refusal
is recorded (monitoring.RefusedWrite, audited). Once released, the same job runs and every saved file belongs
to a stored map. Adding an ROI to a locked casebook, or starting a map job on it, is a form error on the page.

The locks are real (monitoring's service or the REST endpoint, as a data manager would place them); the
mid-run lock is placed by wrapping the fit engine where our worker calls it (mri.services.fit_series), right
after the fit and before anything is stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from rest_framework.test import APIClient

from monitoring import services as monitoring_services
from monitoring.models import RefusedWrite
from mri import services
from mri.models import JobState, MrMap, MrMapJob, MrRoi, MrSeriesUpload
from mri.tasks import make_maps
from quant.mri import phantom_dicom as ph
from tests.factories import ctx_for
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db

SHAPE = (4, 3, 2)
TIMES = np.arange(0.0, 120.1, 6.0)
TOFTS_MAPS = 4  # ktrans_per_min, ve, kep_per_min and one semi-quantitative map at least (checked below)


@pytest.fixture(scope="module")
def dce_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mr_locks") / "dce"
    params = {"ktrans_per_min": np.full(SHAPE, 0.2), "ve": np.full(SHAPE, 0.3)}
    ph.write_series(
        ph.dce_spec("tofts", params, t10_s=np.full(SHAPE, 1.3), times_s=TIMES, delay_s=0.0), str(root)
    )
    return root


@pytest.fixture
def job(tmp_media, radiologist, participant, dce_dir, tmp_path) -> MrMapJob:
    """A stored DCE series and a queued Tofts job (its task is queued on commit, which never comes here)."""
    scan = participant.scans.get(visit__code="BL_MRI")
    work = tmp_path / "work"
    work.mkdir()
    series = services.series_upload_ingest(
        ctx=ctx_for(radiologist),
        scan=scan,
        kind="dce",
        files=[(p, p.name) for p in sorted(dce_dir.iterdir())],
        work_dir=work,
    )
    return services.map_job_create(
        ctx=ctx_for(radiologist), series=series, model="tofts", options={"t10_ms": 1300, "aif": "parker"}
    )


def _map_files(participant) -> set[str]:
    root = f"mri/{participant.study_id}/maps"
    if not default_storage.exists(root):
        return set()
    found = set()
    for folder in default_storage.listdir(root)[0]:
        found |= {f"{root}/{folder}/{name}" for name in default_storage.listdir(f"{root}/{folder}")[1]}
    return found


def _spy_saves(monkeypatch) -> list[str]:
    """Every file name the worker saves on the storage (a spy on Django's storage, not a replacement)."""
    saved: list[str] = []
    save = default_storage.save

    def spy(name, content, *args, **kwargs):
        saved.append(save(name, content, *args, **kwargs))
        return saved[-1]

    monkeypatch.setattr(default_storage, "save", spy)
    return saved


def _lock_after_fit(monkeypatch, data_manager, **lock) -> list:
    """A data manager's real lock applied right after the fit, before the maps are stored."""
    applied: list = []
    fit = services.fit_series

    def fit_then_lock(*args, **kwargs):
        outcome = fit(*args, **kwargs)
        applied.append(monitoring_services.lock_apply(ctx=ctx_for(data_manager), **lock))
        return outcome

    monkeypatch.setattr(services, "fit_series", fit_then_lock)
    return applied


def _job_states(job) -> list[list[str]]:
    entries = AuditEntry.objects.filter(
        app_label="mri", model="mrmapjob", object_id=str(job.pk), action="update"
    ).order_by("id")
    return [e.changes["state"] for e in entries if "state" in e.changes]


def test_a_locked_casebook_refuses_the_map_job_before_any_work(job, participant, data_manager, monkeypatch):
    lock = monitoring_services.lock_apply(
        ctx=ctx_for(data_manager), scope="participant", object_id=participant.pk, reason="Casebook cleaned"
    )
    fitted: list = []
    monkeypatch.setattr(services, "fit_series", lambda *a, **k: fitted.append(1))

    outcome = make_maps.delay(job.pk).get()  # eager, as in tests/conftest.py

    assert "Casebook cleaned" in outcome["refused"] and fitted == []  # refused before the fit
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.state != JobState.RUNNING
    assert job.message.startswith("refused: ") and job.message.endswith("; nothing stored")
    assert "Casebook cleaned" in job.message
    assert (job.summary, job.provenance) == ({}, {})
    assert not MrMap.objects.exists() and _map_files(participant) == set()
    assert _job_states(job) == [["queued", "failed"]]  # never started, the end audited
    refused = RefusedWrite.objects.get()
    assert (refused.app_label, refused.model, refused.object_id) == ("mri", "mrmapjob", str(job.pk))
    assert (refused.what, refused.source, refused.participant_id) == (
        "MR parameter maps",
        "worker",
        participant.pk,
    )
    assert AuditEntry.objects.get(app_label="monitoring", model="refusedwrite").reason == refused.message

    monitoring_services.lock_release(ctx=ctx_for(data_manager), lock=lock, reason="Reopened")
    monkeypatch.undo()
    assert make_maps.delay(job.pk).get()["state"] == "done"
    job.refresh_from_db()
    assert (job.state, job.message) == (JobState.DONE, "")


def test_a_casebook_lock_arriving_mid_run_removes_the_saved_map_files_and_stores_nothing(
    job, participant, data_manager, monkeypatch
):
    fit = services.fit_series
    saved = _spy_saves(monkeypatch)
    applied = _lock_after_fit(
        monkeypatch, data_manager, scope="participant", object_id=participant.pk, reason="Locked mid-fit"
    )

    outcome = make_maps.delay(job.pk).get()

    assert len(applied) == 1 and "Locked mid-fit" in outcome["refused"]
    assert len(saved) == 3  # the first map's NIfTI, Parametric Map and PNG: its row was then refused
    assert not any(default_storage.exists(name) for name in saved) and _map_files(participant) == set()
    assert not MrMap.objects.exists()
    assert not AuditEntry.objects.filter(app_label="mri", model="mrmap").exists()
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "Locked mid-fit" in job.message
    assert job.message.startswith("refused: ") and job.message.endswith("nothing stored")
    assert (job.summary, job.provenance) == ({}, {})
    assert _job_states(job) == [["queued", "running"], ["running", "failed"]]
    refused = RefusedWrite.objects.get()
    assert (refused.object_id, refused.what, refused.source) == (str(job.pk), "MR parameter maps", "worker")
    assert AuditEntry.objects.filter(
        app_label="monitoring", model="refusedwrite", object_id=str(refused.pk), source="worker"
    ).exists()

    # released: the same job runs in full, and every file saved belongs to a stored map
    monitoring_services.lock_release(
        ctx=ctx_for(data_manager), lock=applied[0], reason="Reopened for the fit"
    )
    monkeypatch.setattr(services, "fit_series", fit)
    saved.clear()
    assert make_maps.delay(job.pk).get()["state"] == "done"
    job.refresh_from_db()
    maps = list(job.maps.all())
    assert job.state == JobState.DONE and len(maps) >= TOFTS_MAPS
    assert {"ktrans_per_min", "ve", "kep_per_min"} <= {m.parameter for m in maps}
    assert maps[0].stats["n_voxels"] > 0
    stored = {p for m in maps for p in (m.nifti_path, m.parametric_map_path, m.preview_path)}
    assert stored == set(saved) == _map_files(participant)


def test_a_record_lock_on_the_map_job_through_the_api_refuses_the_worker(
    job, participant, data_manager, radiologist, monkeypatch
):
    client = APIClient()
    client.force_authenticate(data_manager)
    body = {"scope": "record", "resource": "mr-map-jobs", "object_id": job.pk, "reason": "Maps under review"}
    created = client.post("/api/v1/locks/", body, format="json")
    assert created.status_code == 201, created.content

    assert "Maps under review" in make_maps.delay(job.pk).get()["refused"]
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "Maps under review" in job.message
    assert (
        client.post(
            f"/api/v1/locks/{created.json()['id']}/release/", {"reason": "Reviewed"}, format="json"
        ).status_code
        == 200
    )

    # a record lock on the job arriving mid-run: every map row passes, the job's result does not, so the
    # whole run is rolled back and all its files removed
    saved = _spy_saves(monkeypatch)
    _lock_after_fit(
        monkeypatch,
        data_manager,
        scope="record",
        resource="mr-map-jobs",
        object_id=job.pk,
        reason="Frozen again",
    )
    assert "Frozen again" in make_maps.delay(job.pk).get()["refused"]
    assert len(saved) >= 3 * TOFTS_MAPS and not any(default_storage.exists(n) for n in saved)
    assert not MrMap.objects.exists() and _map_files(participant) == set()
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "Frozen again" in job.message
    assert list(RefusedWrite.objects.values_list("object_id", flat=True)) == [str(job.pk)] * 2

    # the page shows the refusal, the job does not poll as if it were still running
    from django.test import Client

    page = Client()
    page.force_login(radiologist)
    html = page.get(reverse("mri:job_fragment", kwargs={"job_pk": job.pk})).content.decode()
    assert "refused: " in html and "Frozen again" in html and "hx-trigger" not in html


def test_adding_an_roi_to_a_locked_casebook_is_a_form_error(
    job, participant, data_manager, radiologist, client_for
):
    assert make_maps.delay(job.pk).get()["state"] == "done"
    monitoring_services.lock_apply(
        ctx=ctx_for(data_manager), scope="participant", object_id=participant.pk, reason="Database lock"
    )
    url = reverse("mri:roi_add", kwargs={"job_pk": job.pk})
    resp = client_for(radiologist).post(url, {"name": "T1", "sphere": "0,-2,23,1"})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "Database lock" in html and "locked" in html
    assert not MrRoi.objects.exists()
    assert not AuditEntry.objects.filter(app_label="mri", model="mrroi").exists()

    # so is starting a new map job on the locked casebook (nothing queued)
    create = reverse("mri:job_create", kwargs={"scan_pk": job.scan_id})
    resp = client_for(radiologist).post(
        create, {"series": job.series_id, "model": "tofts", "t10_ms": 1300, "r1": 4.5, "hematocrit": 0.45}
    )
    assert resp.status_code == 400 and "Database lock" in resp.content.decode()
    assert list(MrMapJob.objects.values_list("pk", flat=True)) == [job.pk]
    assert MrSeriesUpload.objects.count() == 1
