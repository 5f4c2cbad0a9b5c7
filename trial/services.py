"""Writes for enrolment, status, consent, schedule and dosing. Every write is audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from trial import access, duplicates
from trial.audit import (
    AuditContext,
    audited_create,
    audited_restore,
    audited_update,
    audited_void,
    write_entry,
)
from trial.models import (
    AntiPD1Dose,
    AuditAction,
    Consent,
    EligibilityAnswer,
    EligibilityCriterion,
    Participant,
    ParticipantStatus,
    ParticipantStatusChange,
    ProtocolVersion,
    Site,
    TracerDose,
    Visit,
    VisitStatus,
)
from trial.schedule import definitions_as_dicts, is_out_of_window, plan_visits
from trial.site_time import ensure_not_future, format_site_time, site_date
from trial.versioning import lock_current

S = ParticipantStatus
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.SCREENING: {S.ENROLLED, S.SCREEN_FAILURE, S.WITHDRAWN},
    S.ENROLLED: {S.ON_TREATMENT, S.WITHDRAWN},
    S.ON_TREATMENT: {S.FOLLOW_UP, S.WITHDRAWN},
    S.FOLLOW_UP: {S.COMPLETED, S.WITHDRAWN},
    S.COMPLETED: set(),
    S.SCREEN_FAILURE: set(),
    S.WITHDRAWN: set(),
}


def current_protocol() -> ProtocolVersion:
    pv = ProtocolVersion.objects.filter(is_current=True).order_by("-effective_date").first()
    if pv is None:
        raise ValidationError("No current protocol version is loaded.")
    return pv


def failing_criteria(answers: dict[int, bool], criteria: list[EligibilityCriterion]) -> list[str]:
    """Return 'code: text' of each unanswered or unmet criterion."""
    failing = []
    for c in criteria:
        if c.pk not in answers:
            failing.append(f"{c.code} not answered: {c.text}")
        elif not c.is_met_by(answers[c.pk]):
            verb = "not met" if c.kind == "inclusion" else "present"
            failing.append(f"{c.code} {verb}: {c.text}")
    return failing


@transaction.atomic
def participant_enrol(
    *,
    ctx: AuditContext,
    site: Site,
    year_of_birth: int,
    sex: str,
    height_cm: Decimal,
    weight_kg: Decimal,
    tumour_type: str,
    planned_anti_pd1: str,
    answers: dict[int, bool],
    consent_date: dt.date,
    consent_version: str,
    enrolment_date: dt.date,
    treatment_start_date: dt.date,
) -> Participant:
    """Enrol an eligible, consented participant and plan the visit schedule; store nothing otherwise."""
    access.require(ctx.user, "enrolment", site)
    pv = current_protocol()
    failing = failing_criteria(answers, list(pv.criteria.all()))
    errors: dict[str, list[str]] = {}
    if failing:
        errors["eligibility"] = ["Not eligible: " + "; ".join(failing)]
    if consent_date > enrolment_date:
        errors["consent_date"] = ["Informed consent must be signed on or before the enrolment date."]
    if treatment_start_date <= enrolment_date:
        errors["treatment_start_date"] = ["Treatment start (day 1) must be after the enrolment date."]
    this_year = timezone.now().year
    if not (this_year - 110 <= year_of_birth <= this_year - 18):
        errors["year_of_birth"] = ["Participants must be at least 18; check the year of birth."]
    if errors:
        raise ValidationError(errors)
    # Lock the site row so two coordinators enrolling at once never get the same number.
    locked_site = Site.objects.select_for_update().get(pk=site.pk)
    last = Participant.objects.filter(site=locked_site).order_by("-sequence_number").first()
    number = (last.sequence_number if last else 0) + 1
    participant = audited_create(
        Participant(
            site=locked_site,
            sequence_number=number,
            study_id=f"{locked_site.code}-{number:03d}",
            year_of_birth=year_of_birth,
            sex=sex,
            height_cm=height_cm,
            weight_kg=weight_kg,
            tumour_type=tumour_type,
            planned_anti_pd1=planned_anti_pd1,
            status=S.ENROLLED,
            status_date=enrolment_date,
        ),
        ctx=ctx,
    )
    audited_create(  # audited, so status changes reach the sponsor's change feed
        ParticipantStatusChange(
            participant=participant,
            from_status="",
            to_status=S.SCREENING,
            date=consent_date,
            reason="Consent signed",
            changed_by=_user(ctx),
        ),
        ctx=ctx,
    )
    audited_create(  # audited, so status changes reach the sponsor's change feed
        ParticipantStatusChange(
            participant=participant,
            from_status=S.SCREENING,
            to_status=S.ENROLLED,
            date=enrolment_date,
            reason="Eligible and consented",
            changed_by=_user(ctx),
        ),
        ctx=ctx,
    )
    for criterion in pv.criteria.all():
        audited_create(
            EligibilityAnswer(participant=participant, criterion=criterion, answer=answers[criterion.pk]),
            ctx=ctx,
        )
    audited_create(
        Consent(participant=participant, consent_date=consent_date, form_version=consent_version), ctx=ctx
    )
    schedule_generate(ctx=ctx, participant=participant, treatment_start_date=treatment_start_date)
    return participant


def _user(ctx: AuditContext) -> Any:
    return ctx.user if getattr(ctx.user, "is_authenticated", False) else None


def _definitions_as_dicts(pv: ProtocolVersion) -> list[dict]:
    return definitions_as_dicts(pv.visit_definitions.all())


def schedule_generate(
    *, ctx: AuditContext, participant: Participant, treatment_start_date: dt.date
) -> list[Visit]:
    pv = current_protocol()
    definitions = {d.code: d for d in pv.visit_definitions.all()}
    visits = []
    for pvisit in plan_visits(_definitions_as_dicts(pv), treatment_start_date):
        visits.append(
            audited_create(
                Visit(
                    participant=participant,
                    definition=definitions[pvisit.definition_code],
                    code=pvisit.code,
                    name=pvisit.name,
                    kind=pvisit.kind,
                    planned_date=pvisit.planned_date,
                    window_before=pvisit.window_before,
                    window_after=pvisit.window_after,
                    is_study_procedure=pvisit.is_study_procedure,
                ),
                ctx=ctx,
            )
        )
    return visits


def consent_date_of(participant: Participant) -> dt.date | None:
    consent = participant.consents.filter(voided=False).order_by("consent_date").first()
    return consent.consent_date if consent else None


def ensure_after_consent(participant: Participant, when: dt.date, field: str) -> None:
    """No study procedure may precede informed consent."""
    consented = consent_date_of(participant)
    if consented is None or when < consented:
        raise ValidationError(
            {field: f"No study procedure is allowed before informed consent ({consented})."}
        )


@transaction.atomic
def visit_record(
    *,
    ctx: AuditContext,
    visit: Visit,
    status: str,
    actual_date: dt.date | None,
    out_of_window_reason: str = "",
    reason: str = "",
    expected_version: int | None = None,
) -> Visit:
    """Record a visit as done or missed; a date outside the window needs an explanation and is flagged.

    The visit row is locked and its state re-read first, so two recordings never both start from "planned".
    """
    access.require(ctx.user, "schedule", visit.participant.site_id)
    lock_current(visit, expected_version=expected_version)
    if status == VisitStatus.DONE and actual_date is None:
        raise ValidationError({"actual_date": "A done visit needs its actual date."})
    if status != VisitStatus.DONE:
        actual_date = None
    ensure_not_future(visit.participant.site, actual_date, "actual_date", "The visit date")
    out = bool(actual_date) and is_out_of_window(
        visit.planned_date, visit.window_before, visit.window_after, actual_date
    )
    if out and not out_of_window_reason.strip():
        raise ValidationError(
            {
                "out_of_window_reason": (
                    f"{actual_date} is outside the window {visit.window_start} to {visit.window_end}; "
                    "explain why to record it."
                )
            }
        )
    if actual_date is not None and visit.is_study_procedure:
        ensure_after_consent(visit.participant, actual_date, "actual_date")
    data = {
        "status": status,
        "actual_date": actual_date,
        "out_of_window": out,
        "out_of_window_reason": out_of_window_reason.strip() if out else "",
    }
    first_entry = visit.status == VisitStatus.PLANNED and visit.actual_date is None
    audited_update(visit, ctx=ctx, data=data, reason=reason or ("Visit recorded" if first_entry else ""))
    if visit.is_study_procedure:
        safety_follow_up_replan(ctx=ctx, participant=visit.participant)
    return visit


def last_study_procedure_date(participant: Participant) -> dt.date | None:
    visits = participant.visits.filter(voided=False, is_study_procedure=True).exclude(
        status=VisitStatus.MISSED
    )
    dates = [v.actual_date or v.planned_date for v in visits]
    return max(dates) if dates else None


def safety_follow_up_replan(*, ctx: AuditContext, participant: Participant) -> None:
    """Keep the safety follow-up 100 days after the last study procedure (audited when it moves)."""
    follow_up = participant.visits.filter(code="SAFETY_FU", voided=False).first()
    last = last_study_procedure_date(participant)
    if follow_up is None or last is None or follow_up.status != VisitStatus.PLANNED:
        return
    new_date = last + dt.timedelta(days=follow_up.definition.day if follow_up.definition else 100)
    if new_date != follow_up.planned_date:
        audited_update(
            follow_up,
            ctx=ctx,
            data={"planned_date": new_date},
            reason="Re-planned: 100 days after the last study procedure",
        )


@transaction.atomic
def visit_replan(
    *,
    ctx: AuditContext,
    visit: Visit,
    planned_date: dt.date,
    reason: str,
    expected_version: int | None = None,
) -> Visit:
    access.require(ctx.user, "schedule", visit.participant.site_id)
    audited_update(
        visit, ctx=ctx, data={"planned_date": planned_date}, reason=reason, expected_version=expected_version
    )
    return visit


@transaction.atomic
def participant_change_status(
    *,
    ctx: AuditContext,
    participant: Participant,
    to_status: str,
    date: dt.date,
    reason: str,
    expected_version: int | None = None,
) -> Participant:
    """Move the participant to `to_status`, checked against the status read under a row lock."""
    access.require(ctx.user, "enrolment", participant.site_id)
    lock_current(participant, expected_version=expected_version)
    if to_status not in ALLOWED_TRANSITIONS.get(participant.status, set()):
        raise ValidationError(
            {
                "to_status": f"A participant cannot go from {participant.get_status_display()} to "
                f"{ParticipantStatus(to_status).label}."
            }
        )
    if not reason.strip():
        raise ValidationError({"reason": "A reason is required for a status change."})
    if date < participant.status_date:
        raise ValidationError({"date": "The status date cannot be before the current status date."})
    audited_create(  # audited, so status changes reach the sponsor's change feed
        ParticipantStatusChange(
            participant=participant,
            from_status=participant.status,
            to_status=to_status,
            date=date,
            reason=reason.strip(),
            changed_by=_user(ctx),
        ),
        ctx=ctx,
    )
    audited_update(participant, ctx=ctx, data={"status": to_status, "status_date": date}, reason=reason)
    return participant


def _check_dose_time(participant: Participant, when: dt.datetime, field: str) -> None:
    if timezone.is_naive(when):
        raise ValidationError({field: "The administration time needs a time zone."})
    if when > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError(
            {field: f"The administration time {format_site_time(when, participant.site)} is in the future."}
        )
    ensure_after_consent(participant, site_date(when, participant.site), field)


@transaction.atomic
def tracer_dose_record(
    *,
    ctx: AuditContext,
    participant: Participant,
    visit: Visit,
    administered_at: dt.datetime,
    activity_before_mbq: Decimal,
    residual_mbq: Decimal,
    mass_dose_mg: Decimal,
    batch: str,
    activity_measured_at: dt.datetime | None = None,
    confirm_duplicate_reason: str = "",
) -> TracerDose:
    """Record a tracer injection; one per visit, and a second one in the same minute needs a reason."""
    access.require(ctx.user, "dosing", participant.site_id)
    if visit.participant_id != participant.pk or visit.kind != "tracer":
        raise ValidationError({"visit": "Choose one of this participant's tracer injection visits."})
    _check_dose_time(participant, administered_at, "administered_at")
    if residual_mbq < 0 or activity_before_mbq <= 0:
        raise ValidationError({"activity_before_mbq": "Activities must be positive (residual may be 0)."})
    if residual_mbq >= activity_before_mbq:
        raise ValidationError(
            {"residual_mbq": "The residual activity must be less than the activity before injection."}
        )
    if mass_dose_mg <= 0:
        raise ValidationError({"mass_dose_mg": "The mass dose must be positive."})
    duplicates.lock_participant(participant)
    if TracerDose.objects.filter(visit=visit, voided=False).exists():
        raise ValidationError(
            {"visit": "This visit already has a tracer administration; edit or void it instead."}
        )
    twin = _dose_in_same_minute(TracerDose.objects.filter(participant=participant), administered_at)
    confirmed = duplicates.confirm_or_refuse(
        twin, what=_dose_label(twin, "89Zr-Df-crefmirlimab"), confirm_reason=confirm_duplicate_reason
    )
    dose = audited_create(
        TracerDose(
            participant=participant,
            visit=visit,
            administered_at=administered_at,
            activity_before_mbq=activity_before_mbq,
            residual_mbq=residual_mbq,
            activity_measured_at=activity_measured_at,
            mass_dose_mg=mass_dose_mg,
            batch=batch.strip(),
        ),
        ctx=ctx,
        reason=confirmed,
    )
    pet_visits_follow_injection(ctx=ctx, dose=dose)
    return dose


def pet_visits_follow_injection(*, ctx: AuditContext, dose: TracerDose) -> list[Visit]:
    """Re-plan the injection's PET time points that are still planned from the actual injection day (audited), so
    the worklist and overdue lists follow the injection rather than the calendar's planned day."""
    injected_on = site_date(dose.administered_at, dose.participant.site)
    moved = []
    pet_visits = dose.participant.visits.filter(
        voided=False,
        status=VisitStatus.PLANNED,
        actual_date__isnull=True,
        definition__anchor=dose.visit.code,
        definition__hours_after_anchor__isnull=False,
    ).select_related("definition")
    for visit in pet_visits:
        planned = injected_on + dt.timedelta(days=visit.definition.day)
        if planned != visit.planned_date:
            audited_update(
                visit,
                ctx=ctx,
                data={"planned_date": planned},
                reason=f"Re-planned: {visit.definition.hours_after_anchor:g} h after the tracer injection of "
                f"{injected_on:%Y-%m-%d}",
            )
            moved.append(visit)
    return moved


@transaction.atomic
def anti_pd1_dose_record(
    *,
    ctx: AuditContext,
    participant: Participant,
    drug: str,
    dose_mg: Decimal,
    administered_at: dt.datetime,
    visit: Visit | None = None,
    confirm_duplicate_reason: str = "",
) -> AntiPD1Dose:
    """Record an anti-PD-1 infusion; a second dose of the drug in the same minute needs a reason."""
    access.require(ctx.user, "dosing", participant.site_id)
    _check_dose_time(participant, administered_at, "administered_at")
    if dose_mg <= 0 or dose_mg > 2000:
        raise ValidationError({"dose_mg": "The dose must be between 0 and 2000 mg."})
    if drug != participant.planned_anti_pd1:
        raise ValidationError(
            {
                "drug": f"This participant's planned anti-PD-1 drug is {participant.get_planned_anti_pd1_display()}."
            }
        )
    duplicates.lock_participant(participant)
    twin = _dose_in_same_minute(
        AntiPD1Dose.objects.filter(participant=participant, drug=drug), administered_at
    )
    confirmed = duplicates.confirm_or_refuse(
        twin,
        what=_dose_label(twin, participant.get_planned_anti_pd1_display()),
        confirm_reason=confirm_duplicate_reason,
    )
    return audited_create(
        AntiPD1Dose(
            participant=participant, visit=visit, drug=drug, dose_mg=dose_mg, administered_at=administered_at
        ),
        ctx=ctx,
        reason=confirmed,
    )


def _dose_in_same_minute(doses: Any, when: dt.datetime) -> Any:
    """The first live dose of `doses` given in the same minute as `when`, if any."""
    start, end = duplicates.same_minute(when)
    return (
        doses.filter(voided=False, administered_at__gte=start, administered_at__lt=end).order_by("id").first()
    )


def _dose_label(dose: Any, drug: str) -> str:
    if dose is None:
        return ""
    return f"{drug} dose {dose.pk} given at {dose.administered_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


@transaction.atomic
def record_edit(
    *,
    ctx: AuditContext,
    instance: Any,
    capability: str,
    data: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> dict:
    """Edit any clinical record field by field, with a reason; returns the audited diff."""
    access.require(ctx.user, capability, _site_id_of(instance))
    return audited_update(instance, ctx=ctx, data=data, reason=reason, expected_version=expected_version)


def lock_owner(instance: Any) -> None:
    """Lock the participant row a record hangs off (or the participant itself) before the record's own row.

    Lock order everywhere: participant first, then its records. Void hooks re-derive data across the
    participant (signatures, RECIST responses), so without this two writers could lock in opposite orders.
    """
    participant_id = (
        instance.pk if isinstance(instance, Participant) else getattr(instance, "participant_id", None)
    )
    if participant_id is not None:
        list(Participant.objects.select_for_update().filter(pk=participant_id).values_list("pk", flat=True))


def _site_id_of(instance: Any) -> int:
    if hasattr(instance, "site_id") and instance._meta.model_name == "participant":
        return instance.site_id
    return instance.participant.site_id


@transaction.atomic
def record_void(
    *, ctx: AuditContext, instance: Any, reason: str, expected_version: int | None = None
) -> None:
    access.require(ctx.user, access.void_capability(instance._meta.app_label), _site_id_of(instance))
    lock_owner(instance)
    audited_void(instance, ctx=ctx, reason=reason, expected_version=expected_version)
    on_void = VOID_HOOKS.get(instance._meta.label_lower)
    if on_void:
        on_void(ctx=ctx, instance=instance)


@transaction.atomic
def record_restore(
    *, ctx: AuditContext, instance: Any, reason: str, expected_version: int | None = None
) -> None:
    access.require(ctx.user, access.void_capability(instance._meta.app_label), _site_id_of(instance))
    lock_owner(instance)
    audited_restore(instance, ctx=ctx, reason=reason, expected_version=expected_version)
    on_void = VOID_HOOKS.get(instance._meta.label_lower)
    if on_void:
        on_void(ctx=ctx, instance=instance)


# Apps register follow-up work after a void/restore (e.g. voiding an AE voids its signature).
VOID_HOOKS: dict[str, Any] = {}


def membership_audit(*, ctx: AuditContext, membership: Any, action: str, changes: dict) -> None:
    """Account and role changes are audited too."""
    write_entry(membership, ctx=ctx, action=AuditAction.ACCOUNT, changes=changes, reason=action)
