from __future__ import annotations

import datetime as dt

import pytest

from trial.models import EligibilityCriterion, ProtocolVersion

pytestmark = pytest.mark.django_db


def test_an_amended_protocol_version_brings_its_own_criteria_to_enrolment(client, coordinator, data_manager):
    old = ProtocolVersion.objects.get(is_current=True)
    new = ProtocolVersion.objects.create(version="1.1", effective_date=dt.date(2026, 6, 1), is_current=True)
    ProtocolVersion.objects.filter(pk=old.pk).update(is_current=False)
    for c in old.criteria.all():
        EligibilityCriterion.objects.create(
            protocol_version=new, code=c.code, kind=c.kind, text=c.text, order=c.order
        )
    EligibilityCriterion.objects.create(
        protocol_version=new, code="E6", kind="exclusion", text="Live vaccine within 30 days.", order=99
    )
    client.force_login(coordinator)
    body = client.get("/participants/new/").content.decode()
    assert "E6 (Exclusion): Live vaccine within 30 days." in body


def test_protocol_changes_in_the_admin_are_audited(client, data_manager):
    from trial.demo import grant_protocol_admin
    from trial.models import AuditEntry

    grant_protocol_admin(data_manager)
    client.force_login(data_manager)
    criterion = EligibilityCriterion.objects.get(code="I4")
    response = client.post(
        f"/admin/trial/eligibilitycriterion/{criterion.pk}/change/",
        {
            "protocol_version": criterion.protocol_version_id,
            "code": "I4",
            "kind": "inclusion",
            "text": "ECOG performance status 0, 1 or 2.",
            "order": criterion.order,
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(model="eligibilitycriterion", object_id=str(criterion.pk)).get()
    assert entry.changes["text"] == ["ECOG performance status 0 or 1.", "ECOG performance status 0, 1 or 2."]
    assert entry.user == data_manager and entry.source == "admin"
