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
    assert "Demo trial ready in" in out.getvalue()
    first = counts()
    assert first["sites"] == 3
    assert first["participants"] == 24
    statuses = set(Participant.objects.values_list("status", flat=True))
    assert {"enrolled", "on_treatment", "completed", "withdrawn"} <= statuses
    assert first["tracer_doses"] >= 24
    assert Visit.objects.filter(out_of_window=True).exists()
    assert "coordinator_nl01" in out.getvalue() and "cd8pet-demo-2026" in out.getvalue()
    assert_the_demo_has_a_casebook()
    call_command("load_demo", stdout=StringIO())
    assert counts() == first


def assert_the_demo_has_a_casebook() -> None:
    """The new casebook forms are in the demo: every kind has live records, vital signs before and after a tracer
    infusion, a grade >= 2 lab with its automatic query, an end of study for each finished participant."""
    from casebook import models as cb
    from queries.models import Query

    for model in (
        cb.Medication,
        cb.MedicalHistory,
        cb.CancerHistory,
        cb.PriorTherapyLine,
        cb.VitalSigns,
        cb.BodyMeasurement,
        cb.EcogAssessment,
        cb.LabResult,
        cb.PkSample,
        cb.AdaSample,
        cb.Disposition,
        cb.ScreeningLogEntry,
    ):
        assert model.objects.filter(voided=False).exists(), model.__name__
    timepoints = set(cb.VitalSigns.objects.exclude(tracer_dose=None).values_list("timepoint", flat=True))
    assert timepoints == {"pre_infusion", "post_infusion"}
    assert cb.BodyMeasurement.objects.exclude(height_cm=None).exists()
    assert cb.Medication.objects.filter(is_systemic_steroid=True, category="prior").exists()
    graded = cb.LabResult.objects.filter(ctcae_grade__gte=2)
    assert graded.exists()
    assert (
        Query.objects.filter(resource="lab-results", object_id__in=graded.values("pk")).count()
        == graded.count()
    )
    finished = Participant.objects.filter(status__in=["completed", "withdrawn"])
    assert finished.exists()
    assert set(cb.Disposition.objects.values_list("participant", flat=True)) == set(
        finished.values_list("pk", flat=True)
    )
    assert {s.code for s in Site.objects.filter(screening_log__isnull=False)} == {"NL01", "NL02", "BE01"}


def test_load_demo_keeps_the_sae_emails_it_sends_out_of_the_console(settings, capsys):
    """`make demo` mails to the console: the demo's SAE reports are kept in memory and summarised instead."""
    from django.core import mail

    from trial.management.commands.load_demo import _quiet

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    before = len(getattr(mail, "outbox", []))
    with _quiet():
        mail.send_mail("[CD8-PET] Initial SAE report: NL01-001", "body", "edc@x", ["s@x"])
    assert "MIME-Version" not in capsys.readouterr().out
    assert [m.subject for m in mail.outbox[before:]] == ["[CD8-PET] Initial SAE report: NL01-001"]
    mail.send_mail("after", "body", "edc@x", ["s@x"])  # the console backend is back afterwards
    assert "MIME-Version" in capsys.readouterr().out
