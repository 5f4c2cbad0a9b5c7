from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from trial.models import AuditEntry, Participant, Site, TracerDose, Visit

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        "sites": Site.objects.count(),
        "participants": Participant.objects.count(),
        "visits": Visit.objects.count(),
        "tracer_doses": TracerDose.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def test_the_demo_trial_is_realistic_and_loading_it_twice_adds_nothing():
    out = StringIO()
    call_command("load_demo", stdout=out)
    first = counts()
    assert first["sites"] == 3
    assert first["participants"] == 24
    statuses = set(Participant.objects.values_list("status", flat=True))
    assert {"enrolled", "on_treatment", "completed", "withdrawn"} <= statuses
    assert first["tracer_doses"] >= 24
    assert Visit.objects.filter(out_of_window=True).exists()
    assert "coordinator_nl01" in out.getvalue() and "cd8pet-demo-2026" in out.getvalue()
    call_command("load_demo", stdout=StringIO())
    assert counts() == first
