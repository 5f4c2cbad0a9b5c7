from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests import factories
from trial import services
from trial.models import Participant, ParticipantStatus

pytestmark = pytest.mark.django_db


def test_study_ids_are_generated_per_site(coordinator, site_nl, site_be):
    from trial.models import Role

    factories.make_user("carla", (site_be, Role.SITE_COORDINATOR))
    first = factories.enrol(coordinator, site_nl)
    second = factories.enrol(coordinator, site_nl)
    other = factories.enrol(coordinator, site_be)
    assert [first.study_id, second.study_id, other.study_id] == ["NL01-001", "NL01-002", "BE01-001"]


def test_an_ineligible_participant_is_refused_with_the_failing_criteria_named_and_nothing_stored(
    coordinator, site_nl
):
    answers = factories.all_yes_answers()
    pv = services.current_protocol()
    i3 = pv.criteria.get(code="I3")
    e1 = pv.criteria.get(code="E1")
    answers[i3.pk] = False
    answers[e1.pk] = True
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        services.participant_enrol(
            ctx=factories.ctx_for(coordinator),
            site=site_nl,
            year_of_birth=1960,
            sex="M",
            height_cm=180,
            weight_kg=80,
            tumour_type="NSCLC",
            planned_anti_pd1="cetrelimab",
            answers=answers,
            consent_date=today,
            consent_version="v1",
            enrolment_date=today,
            treatment_start_date=today + dt.timedelta(days=20),
        )
    message = " ".join(exc.value.message_dict["eligibility"])
    assert "I3 not met" in message and "E1 present" in message
    assert "I1" not in message
    assert Participant.objects.count() == 0


def test_consent_must_precede_enrolment(coordinator, site_nl):
    today = timezone.localdate()
    with pytest.raises(ValidationError, match="consent"):
        factories.enrol(coordinator, site_nl, consent_date=today, enrolment_date=today - dt.timedelta(days=1))


def test_the_schedule_follows_the_protocol_calendar(participant):
    visits = {v.code: v for v in participant.visits.all()}
    day1 = visits["C1D1"].planned_date
    assert len(visits) == 18
    assert (visits["BL_TRACER"].planned_date - day1).days == -10
    assert visits["BL_TRACER"].window_start == day1 - dt.timedelta(days=14)
    assert visits["BL_TRACER"].window_end == day1 - dt.timedelta(days=1)
    assert (visits["BL_PET2"].planned_date - visits["BL_TRACER"].planned_date).days == 6
    assert [(visits[f"RESP_CT_{i}"].planned_date - day1).days for i in range(1, 5)] == [56, 112, 168, 224]
    assert visits["SAFETY_FU"].planned_date == visits["EOT"].planned_date + dt.timedelta(days=100)


def test_an_out_of_window_visit_needs_an_explanation_and_is_flagged(participant, coordinator):
    v = factories.visit(participant, "BL_MRI")
    late = v.window_end + dt.timedelta(days=1)
    ctx = factories.ctx_for(coordinator)
    with pytest.raises(ValidationError, match="outside the window"):
        services.visit_record(ctx=ctx, visit=v, status="done", actual_date=late)
    services.visit_record(
        ctx=ctx, visit=v, status="done", actual_date=late, out_of_window_reason="Scanner down"
    )
    v.refresh_from_db()
    assert v.out_of_window and v.out_of_window_reason == "Scanner down"
    on_time = factories.visit(participant, "BL_BIOPSY")
    services.visit_record(ctx=ctx, visit=on_time, status="done", actual_date=on_time.window_end)
    on_time.refresh_from_db()
    assert not on_time.out_of_window


def test_safety_follow_up_moves_to_100_days_after_the_last_procedure(site_nl, coordinator):
    enrolled = timezone.localdate() - dt.timedelta(days=400)  # the end of treatment lies in the past
    participant = factories.enrol(coordinator, site_nl, enrolment_date=enrolled)
    eot = factories.visit(participant, "EOT")
    services.visit_record(
        ctx=factories.ctx_for(coordinator),
        visit=eot,
        status="done",
        actual_date=eot.planned_date - dt.timedelta(days=10),
    )
    fu = factories.visit(participant, "SAFETY_FU")
    assert fu.planned_date == eot.planned_date - dt.timedelta(days=10) + dt.timedelta(days=100)


def test_no_procedure_before_consent(participant, coordinator):
    v = factories.visit(participant, "BL_TRACER")
    consent = participant.consents.get().consent_date
    with pytest.raises(ValidationError, match="before informed consent"):
        factories.record_tracer_dose(
            coordinator,
            participant,
            when=dt.datetime.combine(consent - dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC),
        )
    assert v.tracer_doses.count() == 0


def test_net_injected_activity_is_before_minus_residual(participant, coordinator):
    dose = factories.record_tracer_dose(coordinator, participant, mbq="37.4")
    from decimal import Decimal

    assert dose.net_injected_mbq == Decimal("36.9")


def test_status_transitions_are_constrained(participant, coordinator):
    ctx = factories.ctx_for(coordinator)
    with pytest.raises(ValidationError, match="cannot go from"):
        services.participant_change_status(
            ctx=ctx, participant=participant, to_status="completed", date=timezone.localdate(), reason="x"
        )
    services.participant_change_status(
        ctx=ctx,
        participant=participant,
        to_status=ParticipantStatus.ON_TREATMENT,
        date=timezone.localdate(),
        reason="Day 1 given",
    )
    assert list(participant.status_history.values_list("to_status", flat=True)) == [
        "screening",
        "enrolled",
        "on_treatment",
    ]


def test_roles_without_enrolment_rights_cannot_enrol(radiologist, site_nl):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        factories.enrol(radiologist, site_nl)
