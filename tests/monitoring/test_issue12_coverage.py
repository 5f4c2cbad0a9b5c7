"""Issue 12 bullets that had no test of their own: a query can be raised on every kind of clinical record the
issue names (participant and status, eligibility and consent, visits, doses, AEs, scans and uploads, findings,
VOIs, lesion measurements, MRI parameter sets, biopsies and IHC scores), and every imaging-finding family
(injection, activity, weight, scan window) raises its automatic query naming its rule, which acknowledging the
finding closes with an audited note."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from queries import services as query_services
from queries.models import Query, QueryOrigin, QueryStatus
from queries.rules import FINDING_FAMILIES
from tests import factories
from tests.lesions import mri_phantoms as ph
from tests.lesions.helpers import assess, day, lesion
from tests.pathology import builders
from trial.audit import audited_create
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cheap(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _records(participant, coordinator, radiologist, pathologist) -> list[tuple[str, object, str]]:
    """(resource, record, field) for one record of each kind the issue names."""
    from imaging.models import Finding, Voi
    from imaging.services import scans_ensure_for_participant
    from lesions import services as lesion_services
    from safety import services as safety_services
    from safety.models import CtcaeTerm
    from tests.safety.conftest import base_values
    from trial import services as trial_services
    from trial.models import Consent, EligibilityAnswer, ParticipantStatusChange

    ctx = factories.ctx_for(coordinator)
    tracer = factories.record_tracer_dose(coordinator, participant)
    anti_pd1 = trial_services.anti_pd1_dose_record(  # enrolled 30 days ago, treatment started 9 days ago
        ctx=ctx,
        participant=participant,
        drug=participant.planned_anti_pd1,
        dose_mg=Decimal("240"),
        administered_at=timezone.now() - dt.timedelta(days=2),
    )
    ae = safety_services.ae_create(
        ctx=ctx,
        participant=participant,
        values=base_values(CtcaeTerm.objects.get(version="5.0", term="Fatigue"), grade=1),
    )
    scans_ensure_for_participant(participant)
    scan = participant.scans.order_by("id").first()
    upload = factories.bare_series_upload(participant, scan)
    voi = Voi.objects.create(  # test data only
        participant=participant,
        scan=scan,
        upload=upload,
        name="T1",
        kind="lesion",
        source="sphere",
        parameters={},
    )
    finding = audited_create(
        Finding(participant=participant, scan=scan, code="TEST", severity="info", message="test finding"),
        ctx=factories.ctx_for(radiologist),
    )
    t1 = lesion(radiologist, participant, "T1", "liver")
    measurement = assess(radiologist, participant, day(0), {t1: 25.0}).measurements.get(lesion=t1)
    parameters = lesion_services.curve_upload(
        ctx=factories.ctx_for(radiologist),
        lesion=t1,
        acquired_on=day(0),
        kind="dce",
        model="extended_tofts",
        upload=SimpleUploadedFile("curve.csv", ph.dce_curve_csv()),
    )
    biopsy = builders.make_biopsy(
        pathologist, participant, lesion=builders.make_lesion(pathologist, participant)
    )
    score = builders.make_score(pathologist, biopsy, "CD8")
    return [
        ("participants", participant, "sex"),
        (
            "status-changes",
            ParticipantStatusChange.objects.filter(participant=participant).first(),
            "to_status",
        ),
        ("eligibility-answers", EligibilityAnswer.objects.filter(participant=participant).first(), "answer"),
        ("consents", Consent.objects.filter(participant=participant).first(), "consent_date"),
        ("visits", participant.visits.order_by("id").first(), "actual_date"),
        ("tracer-doses", tracer, "activity_before_mbq"),
        ("anti-pd1-doses", anti_pd1, "dose_mg"),
        ("adverse-events", ae, "grade"),
        ("scans", scan, "status"),
        ("pet-uploads", upload, "series_instance_uid"),
        ("scan-findings", finding, "message"),
        ("vois", voi, "name"),
        ("measurements", measurement, "value_mm"),
        ("mri-parameters", parameters, "model"),
        ("biopsies", biopsy, "core_count"),
        ("ihc-scores", score, "density_intratumoural"),
    ]


def test_a_query_can_be_raised_on_every_kind_of_clinical_record_the_issue_names(
    participant, coordinator, radiologist, pathologist, monitor
):
    records = _records(participant, coordinator, radiologist, pathologist)
    assert all(record is not None for _, record, _ in records)
    for resource, record, field in records:
        query = query_services.query_raise(
            ctx=factories.ctx_for(monitor),
            resource=resource,
            object_id=record.pk,
            field=field,
            text="Source?",
        )
        assert (query.resource, query.object_id, query.field, query.status) == (
            resource,
            record.pk,
            field,
            QueryStatus.OPEN,
        ), resource
        assert query.participant_id == participant.pk
        assert [m.text for m in query.messages.all()] == ["Source?"]
    assert AuditEntry.objects.filter(app_label="queries", model="query", action="create").count() == len(
        records
    )


def test_every_imaging_finding_family_raises_its_named_query_and_acknowledging_closes_it(
    participant, coordinator, radiologist
):
    from imaging import services as imaging_services
    from imaging.models import Finding

    factories.record_tracer_dose(coordinator, participant)
    imaging_services.scans_ensure_for_participant(participant)
    scan = participant.scans.order_by("id").first()
    ctx = factories.ctx_for(radiologist)
    families = [(rule, code) for rule, (_, codes) in FINDING_FAMILIES.items() for code in codes]
    assert {rule for rule, _ in families} == {
        "IMG_INJECTION_MISMATCH",
        "IMG_ACTIVITY_MISMATCH",
        "IMG_WEIGHT_MISMATCH",
        "IMG_SCAN_OUT_OF_WINDOW",
    }
    for rule, code in families:
        finding = audited_create(
            Finding(
                participant=participant, scan=scan, code=code, severity="warning", message=f"{code} seen"
            ),
            ctx=ctx,
        )
        [query] = Query.objects.filter(
            origin=QueryOrigin.AUTOMATIC, object_id=finding.pk, resource="scan-findings"
        )
        assert (query.rule_code, query.status) == (rule, QueryStatus.OPEN), code
        assert code in query.text
        imaging_services.finding_acknowledge(ctx=ctx, finding=finding, note="Checked against the source.")
        query.refresh_from_db()
        assert query.status == QueryStatus.CLOSED and query.closed_automatically, code
        closing = AuditEntry.objects.filter(
            app_label="queries", model="query", object_id=str(query.pk), action="update"
        ).get()
        assert (
            closing.changes["status"] == ["open", "closed"] and closing.reason == query.messages.last().text
        )


def test_a_monitor_verifies_a_whole_visit_and_progress_shows_per_visit_and_per_participant(
    participant, coordinator, monitor, client_for
):
    from monitoring import selectors

    dose = factories.record_tracer_dose(coordinator, participant)

    def rows():
        return selectors.record_statuses(selectors.visible_participants(monitor).filter(pk=participant.pk))

    in_visit = [r for r in rows() if r.visit_id == dose.visit_id and r.required]
    assert ("tracer-doses", dose.pk) in {(r.resource, r.id) for r in in_visit}
    elsewhere = [r for r in rows() if r.visit_id != dose.visit_id and r.required]
    assert elsewhere  # eligibility and consent stay to verify

    page = client_for(monitor).post(
        f"/monitoring/participants/{participant.pk}/sdv/verify/", {"visit": str(dose.visit_id)}
    )
    assert page.status_code == 302

    after = rows()
    assert all(r.verified for r in after if r.visit_id == dose.visit_id)
    assert not any(r.verified for r in after if r.visit_id != dose.visit_id)
    by_visit = {p.key: p for p in selectors.progress_by(after, lambda r: r.visit_id, {})}
    assert (by_visit[dose.visit_id].verified, by_visit[dose.visit_id].percent) == (len(in_visit), 100)
    [total] = selectors.progress_by(after, lambda r: "all", {"all": participant.study_id})
    assert (total.required, total.verified) == (len(in_visit) + len(elsewhere), len(in_visit))
    shown = client_for(monitor).get(f"/monitoring/participants/{participant.pk}/sdv/")  # the page's figures
    assert shown.status_code == 200
    assert [(p.verified, p.required) for p in shown.context["total"]] == [(total.verified, total.required)]
    assert {p.key: p.verified for p in shown.context["by_visit"]}[dose.visit_id] == len(in_visit)
