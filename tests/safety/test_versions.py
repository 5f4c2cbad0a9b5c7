"""Lost updates and double signatures: AE edits name the version they read; signing is serialised.

Real PostgreSQL; the concurrent cases run real threads, each on its own connection, over committed rows
(transaction=True).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from safety import services
from safety.models import AdverseEvent, AeSignature
from tests import factories
from tests.factories import PASSWORD
from tests.safety.conftest import form_data
from tests.threads import in_threads
from trial.models import AuditEntry, Role
from trial.versioning import VersionConflict

pytestmark = pytest.mark.django_db
THREADED = pytest.mark.django_db(transaction=True)  # real threads need committed rows
API = "/api/v1/adverse-events/{}/"


@pytest.fixture
def bert(site_nl):
    return factories.make_user("bert", (site_nl, Role.SITE_COORDINATOR), first_name="Bert", last_name="Baker")


@pytest.fixture
def ae(make_ae) -> AdverseEvent:
    return make_ae("Fatigue", description="tired")


def open_edit_form(client: Client, ae: AdverseEvent) -> dict[str, Any]:
    """GET the edit page as a browser would and return the POST data it would send back unchanged."""
    page = client.get(reverse("safety:ae_edit", args=[ae.pk])).content.decode()
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version, "the edit form carries the record version"
    ae.refresh_from_db()
    return {**form_data(services.current_values(ae)), "version": version.group(1)}


def conflict_of(body: dict[str, Any]) -> dict[str, Any]:
    """The conflict members of a 409 problem body (under `errors`, or top-level extension members)."""
    return body["errors"] if "current_version" in body.get("errors", {}) else body


def test_a_stale_edit_form_is_refused_naming_the_change_and_keeps_the_users_input(
    client_for, coordinator, bert, ae
):
    a, b = client_for(coordinator), Client()
    b.force_login(bert)
    form_a, form_b = open_edit_form(a, ae), open_edit_form(b, ae)
    assert form_a["version"] == form_b["version"] == "1"

    r = a.post(
        reverse("safety:ae_edit", args=[ae.pk]),
        {**form_a, "verbatim_term": "fatigue after cycle 2", "reason": "source check"},
    )
    assert r.status_code == 302
    r = b.post(
        reverse("safety:ae_edit", args=[ae.pk]),
        {**form_b, "description": "tired, worse in the evening", "reason": "more detail"},
    )

    assert r.status_code == 409
    page = r.content.decode()
    assert "changed after you opened it" in page
    assert "Verbatim term: — → fatigue after cycle 2 (by Carla Tester (carla) at " in page  # what, who, when
    assert "tired, worse in the evening" in page  # B's input is kept
    assert 'name="version" value="2"' in page  # a deliberate second save applies to the current version
    ae.refresh_from_db()
    assert (ae.verbatim_term, ae.description, ae.version) == ("fatigue after cycle 2", "tired", 2)
    updates = AuditEntry.objects.filter(model="adverseevent", object_id=str(ae.pk), action="update")
    assert [e.user for e in updates] == [coordinator]
    assert updates.get().changes == {"verbatim_term": ["", "fatigue after cycle 2"], "version": [1, 2]}


def test_a_form_resubmitted_after_the_conflict_writes_only_what_the_user_changed(
    client_for, coordinator, bert, ae
):
    a, b = client_for(coordinator), Client()
    b.force_login(bert)
    form_a, form_b = open_edit_form(a, ae), open_edit_form(b, ae)
    a.post(reverse("safety:ae_edit", args=[ae.pk]), {**form_a, "verbatim_term": "lethargy", "reason": "r"})
    b.post(reverse("safety:ae_edit", args=[ae.pk]), {**form_b, "description": "worse", "reason": "r"})
    # B reviews the message, reopens the form on the current version and saves the description again.
    r = b.post(
        reverse("safety:ae_edit", args=[ae.pk]),
        {**open_edit_form(b, ae), "description": "worse", "reason": "r"},
    )
    assert r.status_code == 302
    ae.refresh_from_db()
    assert (ae.verbatim_term, ae.description, ae.version) == ("lethargy", "worse", 3)
    last = AuditEntry.objects.filter(model="adverseevent", object_id=str(ae.pk), action="update").last()
    assert last.user == bert and set(last.changes) == {"description", "version"}


def test_the_api_gives_an_etag_and_refuses_a_stale_if_match_with_409(client_for, coordinator, bert, ae):
    a, b = client_for(coordinator), Client()
    b.force_login(bert)
    tag_a, tag_b = a.get(API.format(ae.pk))["ETag"], b.get(API.format(ae.pk))["ETag"]
    assert tag_a == tag_b == 'W/"1"'

    r = a.patch(
        API.format(ae.pk),
        {"verbatim_term": "fatigue after cycle 2", "reason": "source check"},
        content_type="application/json",
        headers={"If-Match": tag_a},
    )
    assert r.status_code == 200 and r["ETag"] == 'W/"2"' and r.json()["version"] == 2
    r = b.patch(
        API.format(ae.pk),
        {"description": "tired, worse in the evening", "reason": "more detail"},
        content_type="application/json",
        headers={"If-Match": tag_b},
    )

    assert r.status_code == 409
    body = r.json()
    assert body["status"] == 409 and "verbatim" in body["detail"].lower()
    assert conflict_of(body)["current_version"] == 2
    assert conflict_of(body)["changed_fields"] == ["verbatim_term"]
    ae.refresh_from_db()
    assert (ae.verbatim_term, ae.description) == ("fatigue after cycle 2", "tired")
    assert not AuditEntry.objects.filter(model="adverseevent", object_id=str(ae.pk), user=bert).exists()


def test_the_api_takes_the_version_in_the_body_and_rejects_a_malformed_if_match(client_for, coordinator, ae):
    api = client_for(coordinator)
    stale = api.patch(
        API.format(ae.pk), {"description": "x", "reason": "r", "version": 7}, content_type="application/json"
    )
    assert stale.status_code == 409 and conflict_of(stale.json())["current_version"] == 1
    bad = api.patch(
        API.format(ae.pk),
        {"description": "x", "reason": "r"},
        content_type="application/json",
        headers={"If-Match": "*, nonsense"},
    )
    assert bad.status_code == 400 and "If-Match" in bad.json()["detail"]
    # Neither given: today's behaviour (the edit applies to the current record).
    ok = api.patch(API.format(ae.pk), {"description": "x", "reason": "r"}, content_type="application/json")
    assert ok.status_code == 200 and ok["ETag"] == 'W/"2"'


def test_the_schema_documents_if_match_etag_and_409_for_ae_edits():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    detail = next(
        v for k, v in paths.items() if k.startswith("/api/v1/adverse-events/{") and k.count("/") == 5
    )
    for method in ("put", "patch"):
        op = detail[method]
        assert "409" in op["responses"] and "If-Match" in op["description"]
        assert any(p["name"] == "If-Match" and p["in"] == "header" for p in op["parameters"])
    assert "ETag" in detail["get"]["responses"]["200"].get("headers", {})


@THREADED
def test_two_simultaneous_saves_of_the_same_version_cannot_both_succeed(coordinator, bert, ae):
    def save(user, values: dict[str, Any]) -> Callable[[], Any]:
        stale = AdverseEvent.objects.get(pk=ae.pk)
        return lambda: services.ae_update(
            ctx=factories.ctx_for(user), ae=stale, values=values, reason="edit", expected_version=1
        )

    results = in_threads(
        save(coordinator, {"verbatim_term": "lethargy"}), save(bert, {"description": "worse"})
    )

    assert sum(isinstance(r, dict) for r in results) == 1
    assert sum(isinstance(r, VersionConflict) for r in results) == 1
    ae.refresh_from_db()
    assert ae.version == 2
    assert AuditEntry.objects.filter(model="adverseevent", object_id=str(ae.pk), action="update").count() == 1


def test_version_rises_on_update_void_and_restore_and_the_audit_records_it(ctx, ae):
    from trial import services as trial_services

    assert ae.version == 1
    services.ae_update(ctx=ctx, ae=ae, values={"description": "very tired"}, reason="r")
    trial_services.record_void(ctx=ctx, instance=ae, reason="entered twice")
    trial_services.record_restore(ctx=ctx, instance=ae, reason="not a duplicate")
    ae.refresh_from_db()
    assert ae.version == 4
    steps = [
        (e.action, e.changes["version"])
        for e in AuditEntry.objects.filter(model="adverseevent", object_id=str(ae.pk)).exclude(
            action="create"
        )
    ]
    assert steps == [("update", [1, 2]), ("void", [2, 3]), ("restore", [3, 4])]
    with pytest.raises(VersionConflict):
        trial_services.record_void(ctx=ctx, instance=ae, reason="stale", expected_version=3)


@THREADED
def test_two_simultaneous_signings_of_the_same_aes_leave_one_live_signature(
    make_ae, investigator, site_nl, dosed_participant
):
    make_ae("Fatigue")
    make_ae("Nausea")
    second = factories.make_user("irene", (site_nl, Role.INVESTIGATOR))

    def sign(user) -> Callable[[], Any]:
        return lambda: services.aes_sign(
            ctx=factories.ctx_for(user),
            participant=dosed_participant,
            password=PASSWORD,
            meaning="complete_accurate",
        )

    results = in_threads(sign(investigator), sign(second))

    assert sum(isinstance(r, AeSignature) for r in results) == 1
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1 and "already signed" in refused[0].messages[0]
    assert AeSignature.objects.filter(participant=dosed_participant, voided=False).count() == 1
    assert AeSignature.objects.filter(participant=dosed_participant).count() == 1


@THREADED
def test_signing_while_an_ae_is_edited_never_leaves_a_live_signature_over_other_content(
    make_ae, investigator, coordinator, dosed_participant
):
    ae = make_ae("Fatigue")
    results = in_threads(
        lambda: services.aes_sign(
            ctx=factories.ctx_for(investigator),
            participant=dosed_participant,
            password=PASSWORD,
            meaning="complete_accurate",
        ),
        lambda: services.ae_update(
            ctx=factories.ctx_for(coordinator),
            ae=AdverseEvent.objects.get(pk=ae.pk),
            values={"description": "x"},
            reason="r",
        ),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    for sig in AeSignature.objects.filter(participant=dosed_participant, voided=False):
        assert services.signature_is_intact(sig)
