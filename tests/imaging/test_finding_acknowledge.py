"""Two reviewers acknowledging one finding at once: one acknowledgement and one note survive."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from imaging.models import Finding
from imaging.services import finding_acknowledge
from tests.threads import in_threads
from trial.audit import AuditContext
from trial.models import AuditEntry


@pytest.mark.django_db(transaction=True)
def test_simultaneous_acknowledgements_keep_the_first_note(pet_web_trial):
    finding = Finding.objects.create(
        participant=pet_web_trial.participant,
        scan=pet_web_trial.scan,
        code="WEIGHT_MISMATCH",
        severity="warning",
        message="test",
    )
    ctx = AuditContext(user=pet_web_trial.radiologist)

    def acknowledge(note: str):
        return lambda: finding_acknowledge(ctx=ctx, finding=Finding.objects.get(pk=finding.pk), note=note)

    results = in_threads(acknowledge("reviewed by A"), acknowledge("reviewed by B"))
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1 and "already acknowledged" in str(refused[0])
    finding.refresh_from_db()
    winner = next(r for r in results if isinstance(r, Finding))
    assert finding.acknowledgement_note == winner.acknowledgement_note
    updates = AuditEntry.objects.filter(
        app_label="imaging", model="finding", object_id=str(finding.pk), action="update"
    )
    assert updates.count() == 1
