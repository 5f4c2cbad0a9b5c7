"""Missing forms per the protocol calendar: which forms each visit expects (data), which are missing for visits
whose window opened, overdue once it closed, scoped to the user's sites, in a constant number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casebook import services as casebook_services
from casebook.models import BodyMeasurement, MedicalHistory, VitalSigns
from monitoring import expected_forms, overview
from tests import factories
from trial.models import Visit, VisitDefinition

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def vitals(**over):
    return {
        "visit": None,
        "tracer_dose": None,
        "timepoint": "visit",
        "measured_at": timezone.now(),
        "systolic_mmhg": 120,
        "diastolic_mmhg": 80,
        "pulse_bpm": 70,
        "temperature_c": Decimal("36.8"),
        "respiratory_rate": 14,
        "spo2_pct": 98,
    } | over


def missing_keys(user, participant) -> set[tuple[str, str]]:
    return {(r.visit_name, r.form) for r in expected_forms.missing_forms(user, participant_id=participant.pk)}


def test_the_protocol_calendar_names_the_forms_each_visit_expects():
    forms = dict(VisitDefinition.objects.values_list("code", "expected_forms"))
    assert {"medical-history", "cancer-history", "vital-signs", "weight", "ecog", "labs"} <= set(
        forms["SCREEN"]
    )
    for tracer in ("BL_TRACER", "OT_TRACER"):
        assert {"vital-signs:pre_infusion", "vital-signs:post_infusion", "weight", "pk-samples"} <= set(
            forms[tracer]
        )
    assert forms["SAFETY_FU"] == ["end-of-study"]
    assert forms["C1D1"] == []
    # every key names a form kind the report knows
    assert {k.partition(":")[0] for keys in forms.values() for k in keys} <= set(expected_forms.FORM_KINDS)


def test_missing_forms_for_opened_windows_clear_as_records_are_entered(
    coordinator, participant, other_coordinator
):
    # enrolled 30 days ago, day 1 nine days ago: screening and the baseline tracer visit's windows have closed
    rows = expected_forms.missing_forms(coordinator, participant_id=participant.pk)
    keys = {(r.visit_name, r.form) for r in rows}
    assert ("Screening", "medical-history") in keys
    assert ("Screening", "weight") in keys
    assert ("Baseline tracer injection", "vital-signs:pre_infusion") in keys
    assert ("Baseline tracer injection", "vital-signs:post_infusion") in keys
    # the on-treatment tracer visit's window has not opened: nothing expected yet
    assert not any(r.visit_name == "On-treatment tracer injection" for r in rows)
    screening = next(r for r in rows if r.form == "medical-history")
    assert screening.overdue and screening.site_code == "NL01" and screening.label == "Medical history"
    assert screening.window_end < TODAY
    # another site's coordinator sees none of them
    assert expected_forms.missing_forms(other_coordinator) == []

    ctx = factories.ctx_for(coordinator)
    history = casebook_services.record_create(
        ctx=ctx,
        model=MedicalHistory,
        participant=participant,
        data={
            "term": "Hypertension",
            "meddra_code": "",
            "start_date": None,
            "end_date": None,
            "ongoing": True,
            "autoimmune": False,
        },
    )
    screen = factories.visit(participant, "SCREEN")
    # weight linked to the screening visit; vital signs unlinked but dated inside its window
    casebook_services.record_create(
        ctx=ctx,
        model=BodyMeasurement,
        participant=participant,
        data={
            "visit": screen,
            "measured_on": screen.window_start,
            "weight_kg": Decimal("70"),
            "height_cm": None,
        },
    )
    at = dt.datetime.combine(screen.planned_date, dt.time(10), tzinfo=dt.UTC)
    casebook_services.record_create(
        ctx=ctx, model=VitalSigns, participant=participant, data=vitals(measured_at=at)
    )
    tracer = factories.visit(participant, "BL_TRACER")
    assert ("Baseline tracer injection", "tracer-dose") in missing_keys(coordinator, participant)
    dose = factories.record_tracer_dose(coordinator, participant)
    # linked through its tracer infusion (no visit chosen)
    casebook_services.record_create(
        ctx=ctx,
        model=VitalSigns,
        participant=participant,
        data=vitals(
            tracer_dose=dose,
            timepoint="pre_infusion",
            measured_at=dose.administered_at - dt.timedelta(minutes=10),
        ),
    )
    keys = missing_keys(coordinator, participant)
    assert ("Screening", "medical-history") not in keys
    assert ("Screening", "weight") not in keys
    assert ("Screening", "vital-signs") not in keys
    # the weight linked to screening does not answer the tracer visit's weight
    assert ("Baseline tracer injection", "weight") in keys
    assert ("Baseline tracer injection", "tracer-dose") not in keys
    assert ("Baseline tracer injection", "vital-signs:pre_infusion") not in keys
    assert ("Baseline tracer injection", "vital-signs:post_infusion") in keys
    # a voided record answers nothing
    casebook_services.record_void(ctx=ctx, instance=history, reason="Entered for the wrong participant")
    assert ("Screening", "medical-history") in missing_keys(coordinator, participant)
    # a missed visit expects nothing
    Visit.objects.filter(pk=tracer.pk).update(status="missed")
    assert not any(v == "Baseline tracer injection" for v, _f in missing_keys(coordinator, participant))


def _missing_queries(user) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        rows = expected_forms.missing_forms(user)
    return len(captured), len(rows)


def test_missing_forms_take_the_same_number_of_queries_at_two_data_sizes(
    coordinator, other_coordinator, site_nl, site_be, data_manager
):
    factories.enrol(coordinator, site_nl)
    small, small_rows = _missing_queries(data_manager)
    with CaptureQueriesContext(connection) as overview_small:
        overview.overview(data_manager)
    for _ in range(3):
        factories.enrol(coordinator, site_nl)
        factories.enrol(other_coordinator, site_be, enrolment_date=TODAY - dt.timedelta(days=120))
    large, large_rows = _missing_queries(data_manager)
    assert large_rows > 4 * small_rows
    assert large == small <= 1 + len(expected_forms.FORM_KINDS)
    with CaptureQueriesContext(connection) as overview_large:
        data = overview.overview(data_manager)
    assert data["missing_forms_total"] == large_rows
    assert 0 < data["overdue_forms_total"] <= large_rows
    assert {s["site"] for s in data["missing_forms_by_site"]} == {"NL01", "BE01"}
    assert len(overview_large) == len(overview_small)


def test_the_missing_forms_page_filters_by_site_and_form_and_pages(
    coordinator, other_coordinator, site_nl, site_be, data_manager, client_for
):
    nl = [factories.enrol(coordinator, site_nl) for _ in range(4)]
    be = factories.enrol(other_coordinator, site_be)
    client = client_for(data_manager)
    page = client.get("/monitoring/missing-forms/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Page 1 of 2 (65 missing forms)" in html  # 13 forms for each of 5 participants, 50 a page
    assert be.study_id in html and nl[3].study_id not in html  # ordered by site, participant, visit
    assert nl[3].study_id in client.get("/monitoring/missing-forms/?page=2").content.decode()
    only_be = client.get("/monitoring/missing-forms/?site=BE01").content.decode()
    assert be.study_id in only_be and nl[0].study_id not in only_be
    weight = client.get("/monitoring/missing-forms/?site=NL01&form=weight").content.decode()
    assert "Weight and height" in weight and "Medical history</a>" not in weight
    assert "8 missing" in weight  # screening and baseline tracer visits of 4 participants
    # a coordinator sees only their site's forms; the overview shows the counts
    mine = client_for(coordinator).get("/monitoring/missing-forms/").content.decode()
    assert nl[0].study_id in mine and be.study_id not in mine
    assert (
        'id="missing-forms-by-site"' in client_for(data_manager).get("/monitoring/overview/").content.decode()
    )


def test_the_participant_page_lists_its_missing_forms(coordinator, participant, client_for):
    html = client_for(coordinator).get(f"/participants/{participant.pk}/").content.decode()
    assert 'id="participant-missing-forms"' in html
    assert "Vital signs (before tracer infusion)" in html
