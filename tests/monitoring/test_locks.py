"""Freeze and lock: every audited write to locked data is refused (service, page, API 423, import, worker),
queries and releases are not clinical writes; release is a data manager's audited action with a reason."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring import services
from monitoring.models import DataLock
from monitoring.services.locks import lock_guard
from safety import services as safety_services
from safety.models import AdverseEvent
from tests import factories
from trial.models import AuditEntry
from trial.write_gate import RecordLocked, registered

pytestmark = pytest.mark.django_db


def test_the_guard_and_listeners_are_registered_in_the_write_gate():
    guards, listeners = registered()
    assert lock_guard in guards
    assert {services.sdv_on_write, services.signature_on_write} <= set(listeners)


def test_a_locked_casebook_refuses_writes_naming_the_lock_until_a_data_manager_releases_it(
    make_ae, ctx, lock_casebook, monitor, data_manager, participant
):
    ae = make_ae("Fatigue")
    lock = lock_casebook(ae.participant, reason="Ready for database lock")
    with pytest.raises(RecordLocked) as exc:
        safety_services.ae_update(ctx=ctx, ae=ae, values={"description": "new text"}, reason="typo")
    message = exc.value.messages[0]
    assert f"casebook {ae.participant.study_id}" in message and "Ready for database lock" in message
    assert "dana" in message.lower()
    ae.refresh_from_db()
    assert (ae.version, ae.description) == (1, "")  # nothing stored
    # a new record in the locked casebook and a void are refused too
    with pytest.raises(RecordLocked):
        make_ae("Nausea")
    with pytest.raises(RecordLocked):
        from trial.services import record_void

        record_void(ctx=ctx, instance=ae, reason="duplicate")
    assert AdverseEvent.objects.filter(participant=ae.participant).count() == 1
    # release: a data manager's action with a reason, audited
    with pytest.raises(PermissionDenied):
        services.lock_release(ctx=factories.ctx_for(monitor), lock=lock, reason="please")
    with pytest.raises(ValidationError, match="reason"):
        services.lock_release(ctx=factories.ctx_for(data_manager), lock=lock, reason=" ")
    services.lock_release(ctx=factories.ctx_for(data_manager), lock=lock, reason="Query answered late")
    # the guard costs one query per write, for a direct (AE), a calendar (visit) and the participant record
    for instance in (ae, participant.visits.first(), participant):
        with CaptureQueriesContext(connection) as queries:
            lock_guard(instance, action="update", changes={})
        assert len(queries) == 1, instance
    safety_services.ae_update(
        ctx=ctx, ae=ae, values={"description": "after release"}, reason="late correction"
    )
    actions = list(
        AuditEntry.objects.filter(
            app_label="monitoring", model="datalock", object_id=str(lock.pk)
        ).values_list("action", "reason")
    )
    assert actions == [("lock", "Ready for database lock"), ("unlock", "Query answered late")]


def test_a_monitor_may_freeze_a_record_but_not_lock_it_and_a_coordinator_may_do_neither(
    make_ae, ctx, monitor, coordinator
):
    ae = make_ae("Fatigue")
    other = make_ae("Nausea")
    with pytest.raises(PermissionDenied):
        services.lock_apply(
            ctx=factories.ctx_for(monitor),
            scope="record",
            resource="adverse-events",
            object_id=ae.pk,
            reason="x",
        )
    with pytest.raises(PermissionDenied):
        services.lock_apply(
            ctx=factories.ctx_for(coordinator),
            scope="record",
            kind="freeze",
            resource="adverse-events",
            object_id=ae.pk,
            reason="x",
        )
    freeze = services.lock_apply(
        ctx=factories.ctx_for(monitor),
        scope="record",
        kind="freeze",
        resource="adverse-events",
        object_id=ae.pk,
        reason="SDV visit",
    )
    assert freeze.participant_id == ae.participant_id and freeze.model == "adverseevent"
    with pytest.raises(RecordLocked, match="frozen"):
        safety_services.ae_update(ctx=ctx, ae=ae, values={"description": "x"}, reason="r")
    safety_services.ae_update(ctx=ctx, ae=other, values={"description": "x"}, reason="r")  # only that record
    # a freeze still lets the monitor verify the record; a lock would not (test_sdv)
    assert services.sdv_mark(ctx=factories.ctx_for(monitor), resource="adverse-events", object_id=ae.pk)


def test_site_and_study_locks_refuse_enrolment_and_the_final_export_waits_for_the_study_lock(
    site_nl, site_be, coordinator, other_coordinator, data_manager, capsys
):
    dm = factories.ctx_for(data_manager)
    services.lock_apply(ctx=dm, scope="site", object_id=site_nl.pk, reason="Site closed out")
    with pytest.raises(RecordLocked, match="site NL01"):
        factories.enrol(coordinator, site_nl)
    factories.enrol(other_coordinator, site_be)  # another site is open
    with pytest.raises(CommandError, match="not locked"):
        call_command("final_export", "--by", data_manager.username)
    services.lock_apply(ctx=dm, scope="study", reason="Database lock")
    with pytest.raises(RecordLocked, match="study"):
        factories.enrol(other_coordinator, site_be)
    call_command("final_export", "--by", data_manager.username)
    out = capsys.readouterr().out
    assert '"export_job"' in out
    from exports.models import ExportJob

    assert ExportJob.objects.filter(requested_by=data_manager).count() == 1


def test_locks_rest_contract(make_ae, data_manager, coordinator, api_for):
    ae = make_ae("Fatigue")
    client = api_for(data_manager)
    created = client.post(
        "/api/v1/locks/",
        {"scope": "record", "resource": "adverse-events", "object_id": ae.pk, "reason": "clean"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["scope"] == "record" and body["kind"] == "lock" and body["live"] is True
    assert (
        client.post(
            "/api/v1/locks/",
            {"scope": "record", "resource": "nope", "object_id": 1, "reason": "x"},
            format="json",
        ).status_code
        == 400
    )
    assert (
        api_for(coordinator)
        .post("/api/v1/locks/", {"scope": "study", "reason": "x"}, format="json")
        .status_code
        == 403
    )
    listed = client.get("/api/v1/locks/").json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]
    released = client.post(f"/api/v1/locks/{body['id']}/release/", {"reason": "reopened"}, format="json")
    assert released.status_code == 200 and released.json()["live"] is False
    again = client.post(f"/api/v1/locks/{body['id']}/release/", {"reason": "again"}, format="json")
    assert again.status_code == 400
    assert DataLock.objects.get().release_reason == "reopened"
    # a lock refusal on the API is a 423 with problem details
    client.post(
        "/api/v1/locks/",
        {"scope": "participant", "object_id": ae.participant_id, "reason": "clean"},
        format="json",
    )
    response = api_for(coordinator).put(
        f"/api/v1/adverse-events/{ae.pk}/", {"description": "x", "reason": "typo"}, format="json"
    )
    assert response.status_code == 423, response.content
    body = response.json()
    assert body["status"] == 423 and body["title"] == "Locked" and "locked" in body["detail"]
    assert response["Content-Type"].startswith("application/problem+json")


def test_the_ae_import_refuses_a_locked_casebook_in_one_line(
    tmp_path, make_ae, coordinator, lock_casebook, terms
):
    ae = make_ae("Fatigue")
    lock_casebook(ae.participant)
    path = tmp_path / "aes.csv"
    path.write_text(
        "participant,meddra_code,grade,onset_date,end_date,ongoing,serious,outcome,action_anti_pd1,rel_tracer,"
        "rel_pet,rel_biopsy,rel_anti_pd1\n"
        f"{ae.participant.study_id},{terms['Nausea'].meddra_code},1,{ae.onset_date},{ae.end_date},no,no,recovered,"
        "dose_not_changed,unrelated,unrelated,unrelated,possible\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as exc:
        call_command("import_aes", str(path), "--user", coordinator.username)
    lines = str(exc.value).splitlines()
    assert lines[0] == "Nothing imported:" and len(lines) == 2  # one line per refused row
    assert lines[1].startswith("line 2:") and "locked" in lines[1]
    assert AdverseEvent.objects.filter(participant=ae.participant).count() == 1


def test_a_worker_recompute_of_a_locked_casebook_is_refused_before_anything_moves(participant, lock_casebook):
    from imaging.services.processing import series_process

    scan = participant.scans.first()
    upload = factories.bare_series_upload(participant, scan)
    lock_casebook(participant, reason="Database lock of this casebook")
    result = series_process(upload.pk)
    assert "Database lock of this casebook" in result["refused"]
    upload.refresh_from_db()
    assert (upload.state, upload.attempts, upload.version) == ("stored", 0, 1)
    from monitoring.models import RefusedWrite

    refused = RefusedWrite.objects.get()  # recorded for the data manager's overview, not only returned
    assert (refused.what, refused.object_id, refused.participant_id) == (
        "PET series processing",
        str(upload.pk),
        participant.pk,
    )
    assert "Database lock of this casebook" in refused.message


def test_the_schema_documents_423_on_writes_and_the_locks_and_sdv_contracts():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert "423" in paths["/api/v1/adverse-events/{id}/"]["put"]["responses"]
    assert {"201", "423"} <= set(paths["/api/v1/locks/"]["post"]["responses"])
    assert "200" in paths["/api/v1/locks/{id}/release/"]["post"]["responses"]
    sdv = paths["/api/v1/sdv/"]
    assert {p["name"] for p in sdv["get"]["parameters"]} >= {"resource", "object_id", "cursor"}
    body = sdv["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "SdvInput" in body
    assert "423" not in paths["/api/v1/sdv/"]["get"]["responses"]  # reads are never refused by a lock
