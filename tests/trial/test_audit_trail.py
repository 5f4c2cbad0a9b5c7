from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from tests import factories
from tests.db_roles import owner_role
from trial import services
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_the_database_rejects_update_and_delete_of_audit_entries(participant):
    """Even the owner, who holds the privileges, is refused by the triggers (the app role lacks them)."""
    entry = AuditEntry.objects.filter(participant_id=participant.pk).first()
    assert entry is not None
    for sql in (
        "UPDATE trial_auditentry SET reason = 'tampered' WHERE id = %s",
        "DELETE FROM trial_auditentry WHERE id = %s",
    ):
        with (
            owner_role(),
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(sql, [entry.pk])
    with owner_role(), pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="tampered")
    entry.refresh_from_db()
    assert entry.reason != "tampered"


def test_an_edit_records_who_when_old_new_reason_and_source(participant, coordinator):
    visit = factories.visit(participant, "SCREEN")
    services.record_edit(
        ctx=factories.ctx_for(coordinator),
        instance=visit,
        capability="schedule",
        data={"out_of_window_reason": "typo fixed"},
        reason="Correcting entry",
    )
    entry = AuditEntry.objects.filter(model="visit", object_id=str(visit.pk), action="update").get()
    assert entry.user == coordinator
    assert entry.changes == {"out_of_window_reason": ["", "typo fixed"], "version": [1, 2]}
    assert entry.reason == "Correcting entry"
    assert entry.source == "browser"
    assert entry.at.utcoffset().total_seconds() == 0
    assert entry.txid is not None


def test_an_edit_without_a_reason_is_refused_and_changes_nothing(participant, coordinator):
    visit = factories.visit(participant, "SCREEN")
    with pytest.raises(ValidationError, match="reason"):
        services.record_edit(
            ctx=factories.ctx_for(coordinator),
            instance=visit,
            capability="schedule",
            data={"out_of_window_reason": "x"},
            reason="  ",
        )
    visit.refresh_from_db()
    assert visit.out_of_window_reason == ""


def test_records_are_voided_and_restored_never_deleted(participant, coordinator):
    dose = factories.record_tracer_dose(coordinator, participant)
    ctx = factories.ctx_for(coordinator)
    services.record_void(ctx=ctx, instance=dose, reason="Entered on wrong participant")
    dose.refresh_from_db()
    assert dose.voided and dose.void_reason == "Entered on wrong participant"
    services.record_restore(ctx=ctx, instance=dose, reason="Was right after all")
    dose.refresh_from_db()
    assert not dose.voided
    actions = list(
        AuditEntry.objects.filter(model="tracerdose", object_id=str(dose.pk)).values_list("action", flat=True)
    )
    assert actions == ["create", "void", "restore"]


def test_specialist_records_are_voided_by_the_specialists_who_enter_them(
    participant, coordinator, radiologist, client
):
    from django.core.exceptions import PermissionDenied

    from lesions.models import Lesion

    lesion = Lesion.objects.create(participant=participant, label="T1", organ="liver", role="target")
    with pytest.raises(PermissionDenied):
        services.record_void(ctx=factories.ctx_for(coordinator), instance=lesion, reason="not mine to void")
    client.force_login(radiologist)
    response = client.post(f"/records/lesions/lesion/{lesion.pk}/void/", {"reason": "Duplicate entry"})
    assert response.status_code == 302
    lesion.refresh_from_db()
    assert lesion.voided and lesion.void_reason == "Duplicate entry"
    client.force_login(radiologist)
    dose = factories.record_tracer_dose(coordinator, participant)
    assert client.post(f"/records/trial/tracerdose/{dose.pk}/void/", {"reason": "x"}).status_code == 403
