"""Automatic queries: each rule raises a query naming its code when a write breaks it, never twice, and a
correction that makes the rule pass closes the query with an audited note; `run_query_rules` sweeps the rest."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from queries import services
from queries.automatic import on_write
from queries.models import Query, QueryOrigin, QueryStatus
from queries.rules import tps_category
from tests import factories
from tests.pathology import builders
from tests.safety.conftest import base_values
from trial import write_gate
from trial.audit import audited_create, audited_update
from trial.models import AuditEntry, Role

pytestmark = pytest.mark.django_db


def _auto(rule: str) -> list[Query]:
    return list(Query.objects.filter(origin=QueryOrigin.AUTOMATIC, rule_code=rule).order_by("id"))


def _sweep(*args: str) -> dict:
    out = io.StringIO()
    call_command("run_query_rules", *args, stdout=out)
    return json.loads(out.getvalue())


def _days_ago(n: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=n)).isoformat()


def test_visit_and_ae_window_rules_raise_once_and_close_on_correction(dosed, coordinator, monitor):
    from safety import services as safety_services
    from safety.models import CtcaeTerm

    ctx = factories.ctx_for(coordinator)
    visit = dosed.visits.filter(is_study_procedure=False, voided=False).exclude(window_after=None).first()
    late = visit.planned_date + dt.timedelta(days=visit.window_after + 3)
    # An import-like write (not the visit form, which insists on an explanation) leaves the deviation unexplained.
    audited_update(visit, ctx=ctx, data={"status": "done", "actual_date": late}, reason="Imported")
    [query] = _auto("VISIT_OUT_OF_WINDOW")
    assert (query.resource, query.object_id, query.field, query.raised_by) == (
        "visits",
        visit.pk,
        "out_of_window_reason",
        None,
    )
    assert str(late) in query.text
    audited_update(visit, ctx=ctx, data={"status": "done", "actual_date": late}, reason="same again")
    assert len(_auto("VISIT_OUT_OF_WINDOW")) == 1  # idempotent: no second open query

    services.query_answer(
        ctx=ctx, query=query, text="Patient was travelling.", new_value="Patient travelling; agreed with PI."
    )
    query.refresh_from_db()
    assert (query.status, query.closed_automatically) == (QueryStatus.CLOSED, True)
    assert list(query.messages.values_list("kind", flat=True)) == ["automatic", "corrected", "automatic"]
    closing = AuditEntry.objects.filter(app_label="queries", model="query", object_id=str(query.pk)).last()
    assert closing.changes["status"] == ["answered", "closed"] and "corrected" in closing.reason
    assert closing.user_display == "system"

    # AE onset before the first study procedure (the tracer dose 19 days ago): recorded with a reason, queried.
    term = CtcaeTerm.objects.get(version="5.0", term="Fatigue")
    ae = safety_services.ae_create(
        ctx=ctx,
        participant=dosed,
        values=base_values(
            term,
            onset_date=_days_ago(40),
            end_date="",
            ongoing=True,
            outcome="not_recovered",
            out_of_window_reason="Before the tracer",
        ),
    )
    [ae_query] = _auto("AE_ONSET_OUTSIDE_WINDOW")
    assert (ae_query.resource, ae_query.object_id, ae_query.field) == ("adverse-events", ae.pk, "onset_date")
    assert "before the first study procedure" in ae_query.text
    inside = safety_services.ae_create(ctx=ctx, participant=dosed, values=base_values(term, grade=2))
    assert not Query.objects.filter(object_id=inside.pk, resource="adverse-events").exists()
    services.query_answer(ctx=ctx, query=ae_query, text="Typo in the month.", new_value=_days_ago(10))
    ae_query.refresh_from_db()
    assert ae_query.status == QueryStatus.CLOSED and ae_query.closed_automatically

    # A sweep finds nothing new, however often it runs.
    first, second = _sweep(), _sweep()
    assert first["raised"] == second["raised"] == 0
    assert first["closed"] == second["closed"] == 0


def test_pdl1_tps_discordance_and_lab_grade_without_ae(dosed, pathologist, coordinator):
    second_pathologist = factories.make_user("peter", (dosed.site, Role.PATHOLOGIST))
    assert [tps_category(Decimal(v)) for v in ("0", "0.99", "1", "49.9", "50", "100")] == [0, 0, 1, 1, 2, 2]
    biopsy = builders.make_biopsy(pathologist, dosed)
    builders.make_score(pathologist, biopsy, "PD-L1", tps=Decimal("40"))
    same_side = builders.make_score(second_pathologist, biopsy, "PD-L1", tps=Decimal("49"))
    assert _auto("PDL1_TPS_DISCORDANT") == []
    ctx2 = factories.ctx_for(second_pathologist)
    from pathology import services as pathology_services

    pathology_services.ihc_score_update(
        ctx=ctx2, score=same_side, values={"tps": Decimal("50")}, reason="recount"
    )
    [query] = _auto("PDL1_TPS_DISCORDANT")
    assert (query.resource, query.object_id, query.field) == ("ihc-scores", same_side.pk, "tps")
    assert "40" in query.text and "50" in query.text
    services.query_answer(ctx=ctx2, query=query, text="Recounted: 45 %.", new_value="45")
    query.refresh_from_db()
    assert (query.status, query.closed_automatically) == (QueryStatus.CLOSED, True)


def test_imaging_finding_rule_and_the_sweep_of_earlier_data(dosed, radiologist, monitor, coordinator):
    from imaging import services as imaging_services
    from imaging.models import Finding

    imaging_services.scans_ensure_for_participant(dosed)
    scan = dosed.scans.first()
    ctx = factories.ctx_for(radiologist)
    finding = audited_create(
        Finding(
            participant=dosed,
            scan=scan,
            code="ACTIVITY_MISMATCH",
            severity="warning",
            message="Header activity 45 MBq differs from the dosing record (36.5 MBq) by 23 %.",
        ),
        ctx=ctx,
    )
    [query] = _auto("IMG_ACTIVITY_MISMATCH")
    assert (query.resource, query.object_id, query.field) == ("scan-findings", finding.pk, "acknowledged")
    imaging_services.finding_acknowledge(
        ctx=ctx, finding=finding, note="Residual was not subtracted in the header."
    )
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and query.closed_automatically

    # Data written while the listener was not there (e.g. before this feature): the sweep raises it once.
    write_gate._listeners.remove(on_write)
    try:
        visit = dosed.visits.filter(is_study_procedure=False, voided=False).first()
        late = visit.planned_date + dt.timedelta(days=visit.window_after + 5)
        audited_update(
            visit,
            ctx=factories.ctx_for(coordinator),
            data={"status": "done", "actual_date": late},
            reason="x",
        )
    finally:
        write_gate.register_listener(on_write)
    assert _auto("VISIT_OUT_OF_WINDOW") == []
    swept = _sweep("--rule", "VISIT_OUT_OF_WINDOW")
    assert swept["raised"] == 1 and swept["rules"]["VISIT_OUT_OF_WINDOW"]["raised"] == 1
    [visit_query] = _auto("VISIT_OUT_OF_WINDOW")
    assert _sweep()["raised"] == 0
    # A monitor who accepts the deviation closes the query; the rule does not raise it again.
    services.query_close(ctx=factories.ctx_for(monitor), query=visit_query, text="Accepted deviation.")
    again = _sweep("--rule", "VISIT_OUT_OF_WINDOW")
    assert again["raised"] == 0 and again["closed_by_monitor"] == 1
    with pytest.raises(Exception, match="Unknown rule"):
        call_command("run_query_rules", "--rule", "NOPE")

    # A lab value of CTCAE grade >= 2 with no AE of its term covering the day; recording the AE closes it.
    from casebook import services as casebook_services
    from casebook.models import LabResult
    from safety import services as safety_services
    from safety.models import CtcaeTerm

    ctx = factories.ctx_for(coordinator)
    day = timezone.localdate() - dt.timedelta(days=3)
    values = {
        "visit": None,
        "panel": "haematology",
        "collected_on": day,
        "test_code": "NEUT",
        "value": Decimal("1.9"),
        "unit": "10^9/L",
        "lln": Decimal("1.8"),
        "uln": Decimal("7.5"),
        "is_baseline": False,
    }
    normal = casebook_services.record_create(ctx=ctx, model=LabResult, participant=dosed, data=values)
    assert normal.ctcae_grade == 0 and _auto("LAB_GRADE2_WITHOUT_AE") == []
    low = casebook_services.record_create(
        ctx=ctx, model=LabResult, participant=dosed, data={**values, "value": Decimal("0.9")}
    )
    assert low.ctcae_grade == 3
    [lab_query] = _auto("LAB_GRADE2_WITHOUT_AE")
    assert (lab_query.resource, lab_query.object_id, lab_query.field) == (
        "lab-results",
        low.pk,
        "ctcae_grade",
    )
    term = CtcaeTerm.objects.get(version="5.0", term=low.ctcae_term)
    safety_services.ae_create(
        ctx=ctx,
        participant=dosed,
        values=base_values(
            term, grade=3, onset_date=str(day), end_date="", ongoing=True, outcome="not_recovered"
        ),
    )
    lab_query.refresh_from_db()
    assert (lab_query.status, lab_query.closed_automatically) == (QueryStatus.CLOSED, True)
