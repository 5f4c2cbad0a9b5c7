"""The query REST contract: raise 201, answer with a correction, close, reopen, cursor pages, scoping, errors."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from queries.models import Query

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("feed_reads_this_transaction")]
PROBLEM = "application/problem+json"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_raise_answer_close_reopen_and_list(ae, monitor, coordinator, other_coordinator, sponsor):
    body = {"resource": "adverse-events", "object_id": ae.pk, "field": "grade", "text": "Source: grade 2?"}
    created = api(monitor).post("/api/v1/queries/", body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (
        data["status"] == "open" and data["participant"] == ae.participant.study_id and data["site"] == "NL01"
    )
    qid = data["id"]
    assert [m["kind"] for m in data["messages"]] == ["raised"]

    answered = api(coordinator).post(
        f"/api/v1/queries/{qid}/answer/", {"text": "Yes, grade 2.", "new_value": 2}, format="json"
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "answered"
    assert answered.json()["messages"][-1] == {
        **answered.json()["messages"][-1],
        "kind": "corrected",
        "old_value": 1,
        "new_value": 2,
    }
    ae.refresh_from_db()
    assert ae.grade == 2

    again = api(coordinator).post(f"/api/v1/queries/{qid}/answer/", {"text": "more"}, format="json")
    assert again.status_code == 409 and again["Content-Type"].startswith(PROBLEM)
    assert api(coordinator).post(f"/api/v1/queries/{qid}/close/", {}, format="json").status_code == 403
    assert api(monitor).post(f"/api/v1/queries/{qid}/close/", {}, format="json").json()["status"] == "closed"
    reopened = api(monitor).post(f"/api/v1/queries/{qid}/reopen/", {"text": "Onset?"}, format="json")
    assert reopened.json()["status"] == "open" and reopened.json()["reopen_count"] == 1

    second = (
        api(monitor).post("/api/v1/queries/", {**body, "field": "onset_date"}, format="json").json()["id"]
    )
    page = api(monitor).get(
        "/api/v1/queries/",
        {"status": "open", "participant": ae.participant.study_id, "site": "NL01", "page_size": 1},
    )
    assert page.status_code == 200
    assert [r["id"] for r in page.json()["results"]] == [qid] and page.json()["next"]
    nxt = api(monitor).get(page.json()["next"])
    assert [r["id"] for r in nxt.json()["results"]] == [second]
    assert api(monitor).get("/api/v1/queries/", {"status": "closed"}).json()["results"] == []

    # Scoped: another site's coordinator sees nothing and cannot open the thread; the sponsor reads only.
    assert api(other_coordinator).get("/api/v1/queries/").json()["results"] == []
    assert api(other_coordinator).get(f"/api/v1/queries/{qid}/").status_code == 404
    assert len(api(sponsor).get("/api/v1/queries/").json()["results"]) == 2
    assert api(sponsor).post("/api/v1/queries/", body, format="json").status_code == 403
    client = api(monitor)
    bad = client.post(
        "/api/v1/queries/",
        {"resource": "adverse-events", "object_id": ae.pk, "field": "grade_x", "text": "?"},
        format="json",
    )
    assert bad.status_code == 400 and bad["Content-Type"].startswith(PROBLEM)
    assert list(bad.json()["errors"]) == ["field"]
    missing = client.post("/api/v1/queries/", {"resource": "adverse-events"}, format="json")
    assert set(missing.json()["errors"]) == {"object_id", "field", "text"}
    assert client.get("/api/v1/queries/", {"status": "pending"}).json()["errors"] == {
        "status": ["One of: live, open, answered, closed."]
    }
    assert client.get("/api/v1/queries/", {"page_size": "0"}).json()["errors"] == {
        "page_size": ["page_size must be an integer from 1 to 1000."]
    }
    assert Query.objects.count() == 2


def test_locked_correction_is_423_and_queries_are_a_sponsor_export_resource(
    ae, monitor, coordinator, sponsor, lock_everything
):
    qid = (
        api(monitor)
        .post(
            "/api/v1/queries/",
            {"resource": "adverse-events", "object_id": ae.pk, "field": "grade", "text": "grade?"},
            format="json",
        )
        .json()["id"]
    )
    lock_everything.append(True)
    refused = api(coordinator).post(
        f"/api/v1/queries/{qid}/answer/", {"text": "2", "new_value": 2}, format="json"
    )
    assert refused.status_code == 423 and "locked" in refused.json()["detail"]
    accepted = api(coordinator).post(
        f"/api/v1/queries/{qid}/answer/", {"text": "Grade 1 is right."}, format="json"
    )
    assert accepted.json()["status"] == "answered"
    rows = api(sponsor).get("/api/v1/export/queries/").json()["results"]
    assert [(r["resource"], r["field"], r["status"], r["site"]) for r in rows] == [
        ("adverse-events", "grade", "answered", "NL01")
    ]
    feed = api(sponsor).get("/api/v1/export/queries/changes/").json()["results"]
    assert [(c["action"], c["record"]["status"]) for c in feed] == [("update", "answered")]
