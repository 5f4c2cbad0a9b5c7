"""Source data verification: marks bound to the verified value, cleared by a later change; the plan as data
with a deterministic sample; progress and the worklist; the REST contract and the sdv-status export."""

from __future__ import annotations

import hashlib

import pytest

from exports.resources import load_all
from monitoring import selectors
from monitoring.models import SdvMark
from monitoring.plans import plan_for, sampled
from safety import services as safety_services
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_the_plan_verifies_the_critical_forms_fully_and_samples_the_rest_by_the_stated_rule():
    plan = plan_for("1.0")
    assert {
        "eligibility-answers",
        "consents",
        "adverse-events",
        "tracer-doses",
        "anti-pd1-doses",
        "suv-metrics",
    } <= set(plan.full)
    assert plan.percent == 20 and "visits" in plan.sampled
    for resource in ("visits", "scans", "ihc-scores"):
        for object_id in range(1, 400):
            expected = int(hashlib.sha256(f"{resource}:{object_id}".encode()).hexdigest()[:8], 16) % 100 < 20
            assert plan.requires(resource, object_id) is expected
    picked = sum(sampled("visits", i, 20) for i in range(1, 2001))
    assert 340 <= picked <= 460  # about 20 % of 2000 (binomial sd ~ 18)
    assert all(plan.requires("adverse-events", i) for i in range(1, 50))
    assert not plan.requires("sites", 1)


def test_a_change_of_a_verified_field_clears_its_mark_and_shows_changed_since_verification(
    make_ae, ctx, monitor, api_for
):
    ae = make_ae("Fatigue")
    client = api_for(monitor)
    response = client.post(
        "/api/v1/sdv/",
        {"resource": "adverse-events", "object_id": ae.pk, "fields": ["grade", "description"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert [m["field"] for m in response.json()] == ["grade", "description"]
    whole = client.post("/api/v1/sdv/", {"resource": "adverse-events", "object_id": ae.pk}, format="json")
    assert whole.status_code == 201 and whole.json()[0]["field"] == ""
    # a change of an unverified field clears the whole-record mark only
    safety_services.ae_update(
        ctx=ctx,
        ae=ae,
        values={"outcome": "recovering", "end_date": "", "ongoing": True},
        reason="still ongoing",
    )
    listed = client.get(f"/api/v1/sdv/?resource=adverse-events&object_id={ae.pk}").json()["results"]
    status = {m["field"]: m["status"] for m in listed}
    assert status == {"grade": "verified", "description": "verified", "": "changed since verification"}
    # a change of a verified field clears that field's mark
    safety_services.ae_update(
        ctx=ctx, ae=ae, values={"description": "Worse in the evening"}, reason="source says so"
    )
    marks = {m.field: m for m in SdvMark.objects.filter(object_id=ae.pk)}
    assert (
        marks["description"].cleared_at is not None
        and "source says so" in marks["description"].cleared_reason
    )
    assert marks["grade"].cleared_at is None
    rows = [
        r
        for r in selectors.record_statuses(selectors.visible_participants(monitor))
        if r.resource == "adverse-events"
    ]
    assert [r.state for r in rows] == ["changed since verification"]
    assert AuditEntry.objects.filter(app_label="monitoring", model="sdvmark", action="update").count() == 2
    assert AuditEntry.objects.filter(app_label="monitoring", model="sdvmark", action="create").count() == 3


def test_only_a_monitor_verifies_and_a_lock_stops_verification(
    make_ae, coordinator, api_for, lock_casebook, monitor
):
    ae = make_ae("Fatigue")
    body = {"resource": "adverse-events", "object_id": ae.pk, "fields": []}
    assert api_for(coordinator).post("/api/v1/sdv/", body, format="json").status_code == 403
    bad = api_for(monitor).post("/api/v1/sdv/", {**body, "fields": ["no_such_field"]}, format="json")
    assert bad.status_code == 400 and "fields" in bad.json()["errors"]
    items = api_for(monitor).post("/api/v1/sdv/", {**body, "fields": ["", "x" * 61]}, format="json")
    messages = items.json()["errors"]["fields"]  # flat messages, as the problem-details schema says
    assert (
        items.status_code == 400
        and all(isinstance(m, str) for m in messages)
        and messages[0].startswith("item 0")
    )
    lock_casebook(ae.participant)
    assert api_for(monitor).post("/api/v1/sdv/", body, format="json").status_code == 423
    assert SdvMark.objects.count() == 0


def test_progress_worklist_and_the_sdv_status_export(make_ae, monitor, data_manager, api_for, client_for):
    ae = make_ae("Fatigue")
    participant = ae.participant
    rows = selectors.record_statuses(selectors.visible_participants(monitor))
    required = [r for r in rows if r.required]
    # eligibility answers, consent, the tracer dose and the AE are all 100 %
    assert {"eligibility-answers", "consents", "tracer-doses", "adverse-events"} <= {
        r.resource for r in required
    }
    before = len(selectors.worklist(monitor))
    assert before == len(required)
    api_for(monitor).post("/api/v1/sdv/", {"resource": "adverse-events", "object_id": ae.pk}, format="json")
    assert len(selectors.worklist(monitor)) == before - 1
    page = client_for(monitor).post(
        f"/monitoring/participants/{participant.pk}/sdv/verify/", {"form": "eligibility-answers"}
    )
    assert page.status_code == 302
    eligibility = [r for r in required if r.resource == "eligibility-answers"]
    assert len(selectors.worklist(monitor)) == before - 1 - len(eligibility)
    progress = selectors.site_progress(data_manager)
    assert [(p.label, p.required, p.verified) for p in progress] == [
        ("NL01", len(required), 1 + len(eligibility))
    ]
    assert "sdv-status" in load_all()
    exported = api_for(data_manager).get("/api/v1/export/sdv-status/").json()["results"]
    assert {(r["resource"], r["object_id"], r["field"]) for r in exported} >= {("adverse-events", ae.pk, "")}
    html = client_for(monitor).get("/monitoring/sdv/").content.decode()
    assert "still to verify" in html
