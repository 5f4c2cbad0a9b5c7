"""The write gate: a registered guard refuses every kind of audited write, and listeners see each one."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from tests.factories import enrol, make_site, make_user
from trial import write_gate
from trial.audit import AuditContext, audited_restore, audited_update, audited_void
from trial.models import AuditEntry, Participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate():
    guards, listeners = write_gate._guards[:], write_gate._listeners[:]
    yield write_gate
    write_gate._guards[:], write_gate._listeners[:] = guards, listeners


def make_participant() -> Participant:
    site = make_site()
    return enrol(make_user("coord_gate", (site, "site_coordinator")), site)


def test_guard_refuses_update_and_nothing_is_stored(gate: Any) -> None:
    participant = make_participant()
    before = AuditEntry.objects.count()

    def refuse(instance: Any, *, action: str, changes: dict) -> None:
        if isinstance(instance, Participant):
            raise ValidationError("This casebook is locked.")

    gate.register_guard(refuse)
    with pytest.raises(ValidationError, match="locked"), transaction.atomic():
        audited_update(
            participant, ctx=AuditContext(user=None), data={"tumour_type": "Gate test"}, reason="typo"
        )
    participant.refresh_from_db()
    assert participant.tumour_type != "Gate test"
    assert AuditEntry.objects.count() == before


def test_listener_sees_update_void_and_restore(gate: Any) -> None:
    participant = make_participant()
    seen: list[tuple[str, dict]] = []
    gate.register_listener(lambda instance, *, action, changes, ctx, reason: seen.append((action, changes)))
    audited_update(participant, ctx=AuditContext(user=None), data={"tumour_type": "NSCLC"}, reason="typo")
    audited_void(participant, ctx=AuditContext(user=None), reason="entered twice")
    audited_restore(participant, ctx=AuditContext(user=None), reason="not a duplicate")
    assert [a for a, _ in seen] == ["update", "void", "restore"]
    assert seen[0][1]["tumour_type"][1] == "NSCLC"
