"""Writes of the lesion registry and RECIST assessments and measurements, with response recompute."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from lesions import engine
from lesions.models import (
    Assessment,
    Lesion,
    LesionRole,
    Measurement,
    MeasurementState,
    NonTargetState,
    ParticipantResponse,
)
from lesions.services.common import CAPABILITY, assessment_rows, baseline_assessment, baseline_mm, lesion_rows
from trial.access import require
from trial.audit import AuditContext, audited_create, audited_update
from trial.models import Participant, Visit
from trial.versioning import VersionConflict, check_version, lock_current

MAX_MM = Decimal("1000")


# ------------------------------------------------------------------ responses


@transaction.atomic
def responses_recompute(*, ctx: AuditContext, participant: Participant, trigger: str) -> engine.Computed:
    """Run the engine over every assessment and store the responses (each change audited with `trigger`)."""
    computed = engine.compute(lesion_rows(participant), assessment_rows(participant))
    reason = f"Responses recomputed by the RECIST 1.1/iRECIST engine after {trigger}"
    for a in participant.assessments.filter(voided=False):
        data = dict(computed.per_assessment.get(a.pk) or engine.blank_result())
        data["engine_error"] = computed.error
        audited_update(a, ctx=ctx, data=data, reason=reason)
    best = {
        "best_recist": "",
        "best_irecist": "",
        "progression_date_recist": None,
        "progression_date_irecist": None,
        "reasons": {},
        **computed.best,
        "engine_error": computed.error,
    }
    existing = ParticipantResponse.objects.filter(participant=participant).first()
    if existing is None:
        audited_create(ParticipantResponse(participant=participant, **best), ctx=ctx, reason=reason)
    else:
        audited_update(existing, ctx=ctx, data=best, reason=reason)
    return computed


# ------------------------------------------------------------------ lesions


def _lock_registry_of(participant_id: int) -> None:
    """Lock the participant row first: registry edits (which recompute every assessment) run one at a time.

    Taking this lock before any lesion, assessment or measurement row keeps the lock order the same in
    every edit, so two edits of different assessments cannot deadlock in `responses_recompute`.
    """
    list(Participant.objects.select_for_update().filter(pk=participant_id).values_list("pk", flat=True))


def _check_selection(participant: Participant, lesion: Lesion) -> None:
    """Baseline target selection rules for a lesion being created or changed (clear messages)."""
    if lesion.role not in (LesionRole.TARGET, LesionRole.NON_TARGET):
        return
    others = participant.lesions.filter(voided=False).exclude(pk=lesion.pk)
    rows = [engine.LesionRow(o.label, o.role, o.organ.strip().lower(), o.nodal) for o in others]
    rows.append(engine.LesionRow(lesion.label, lesion.role, lesion.organ.strip().lower(), lesion.nodal))
    base = baseline_mm(participant)
    errors = []
    for issue in engine.selection_issues(rows, base):
        if (
            issue.rule in ("max_5_targets", "max_2_per_organ")
            and lesion.role == LesionRole.TARGET
            or lesion.label in issue.lesion_ids
            and issue.rule not in ("max_5_targets", "max_2_per_organ")
        ):
            errors.append(issue.message)
    if errors:
        raise ValidationError({"role": errors})


def _check_new_lesion_role(lesion: Lesion) -> None:
    base = baseline_assessment(lesion.participant)
    if (
        lesion.role == LesionRole.NEW
        and lesion.pk
        and base is not None
        and base.measurements.filter(lesion=lesion, voided=False).exists()
    ):
        raise ValidationError({"role": "a lesion measured at baseline cannot be a new lesion"})
    if lesion.role != LesionRole.NEW and lesion.pk and base is not None:
        later = lesion.measurements.filter(voided=False).exclude(assessment=base).exists()
        at_base = lesion.measurements.filter(voided=False, assessment=base).exists()
        if later and not at_base:
            raise ValidationError({"role": "this lesion was first seen after baseline: its role must be new"})


@transaction.atomic
def lesion_create(
    *,
    ctx: AuditContext,
    participant: Participant,
    label: str,
    organ: str,
    role: str,
    nodal: bool = False,
    location: str = "",
    description: str = "",
) -> Lesion:
    require(ctx.user, CAPABILITY, participant.site_id)
    label = label.strip()
    if participant.lesions.filter(label=label).exists():
        raise ValidationError({"label": f"{participant.study_id} already has a lesion labelled {label}"})
    lesion = Lesion(
        participant=participant,
        label=label,
        organ=organ.strip(),
        role=role,
        nodal=nodal,
        location=location,
        description=description,
    )
    _check_selection(participant, lesion)
    audited_create(lesion, ctx=ctx)
    responses_recompute(ctx=ctx, participant=participant, trigger=f"lesion {label} was added")
    return lesion


@transaction.atomic
def lesion_update(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    data: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> dict:
    require(ctx.user, CAPABILITY, lesion.participant.site_id)
    _lock_registry_of(lesion.participant_id)
    lock_current(lesion, expected_version=expected_version)
    if (
        "label" in data
        and data["label"] != lesion.label
        and lesion.participant.lesions.filter(label=data["label"]).exists()
    ):
        raise ValidationError({"label": f"label {data['label']} is already used"})
    for key, value in data.items():
        setattr(lesion, key, value)
    _check_selection(lesion.participant, lesion)
    _check_new_lesion_role(lesion)
    lesion.refresh_from_db(fields=list(data))
    changes = audited_update(lesion, ctx=ctx, data=data, reason=reason)
    if changes:
        responses_recompute(
            ctx=ctx, participant=lesion.participant, trigger=f"lesion {lesion.label} was edited"
        )
    return changes


# ------------------------------------------------------------------ assessments and measurements


def _check_visit(participant: Participant, visit: Visit | None) -> None:
    if visit is not None and (visit.participant_id != participant.pk or visit.kind not in ("ct", "mri")):
        raise ValidationError({"visit": "choose one of this participant's CT or MRI visits"})


@transaction.atomic
def assessment_create(
    *,
    ctx: AuditContext,
    participant: Participant,
    date: dt.date,
    modality: str = "ct",
    visit: Visit | None = None,
    notes: str = "",
) -> Assessment:
    require(ctx.user, CAPABILITY, participant.site_id)
    _check_visit(participant, visit)
    if participant.assessments.filter(voided=False, date=date).exists():
        raise ValidationError({"date": f"an assessment on {date} already exists"})
    assessment = Assessment(participant=participant, date=date, modality=modality, visit=visit, notes=notes)
    audited_create(assessment, ctx=ctx)
    responses_recompute(ctx=ctx, participant=participant, trigger=f"assessment {date} was added")
    return assessment


@transaction.atomic
def assessment_update(
    *,
    ctx: AuditContext,
    assessment: Assessment,
    data: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> dict:
    require(ctx.user, CAPABILITY, assessment.participant.site_id)
    _lock_registry_of(assessment.participant_id)
    lock_current(assessment, expected_version=expected_version)
    _check_visit(assessment.participant, data.get("visit", assessment.visit))
    new_date = data.get("date", assessment.date)
    if (
        assessment.participant.assessments.filter(voided=False, date=new_date)
        .exclude(pk=assessment.pk)
        .exists()
    ):
        raise ValidationError({"date": f"an assessment on {new_date} already exists"})
    changes = audited_update(assessment, ctx=ctx, data=data, reason=reason)
    if changes:
        responses_recompute(
            ctx=ctx, participant=assessment.participant, trigger=f"assessment {assessment.date} was edited"
        )
    return changes


def clean_entry(lesion: Lesion, entry: dict[str, Any], is_baseline: bool) -> dict[str, Any]:
    """Normalise one lesion's entry (state, value_mm, non_target_state); raise ValidationError if invalid."""
    field = f"lesion_{lesion.pk}"
    state = entry.get("state") or MeasurementState.MEASURED
    value = entry.get("value_mm")
    value = Decimal(str(value)) if value not in (None, "") else None
    nt = entry.get("non_target_state") or ""
    if state not in MeasurementState.values:
        raise ValidationError({field: f"{lesion.label}: unknown state {state!r}"})
    if value is not None and not (Decimal("0") <= value <= MAX_MM):
        raise ValidationError({field: f"{lesion.label}: {value} mm is outside 0-1000 mm"})
    if lesion.role == LesionRole.NON_TARGET:
        if nt not in NonTargetState.values:
            raise ValidationError(
                {
                    field: f"{lesion.label}: choose present, absent, unequivocal progression "
                    "or not assessed for a non-target lesion"
                }
            )
        if is_baseline and nt != NonTargetState.PRESENT:
            raise ValidationError({field: f"{lesion.label}: a non-target lesion must be present at baseline"})
        state = (
            MeasurementState.NOT_ASSESSED if nt == NonTargetState.NOT_ASSESSED else MeasurementState.MEASURED
        )
        return {"state": state, "value_mm": value, "non_target_state": nt}
    if lesion.role == LesionRole.NEW and is_baseline:
        raise ValidationError({field: f"{lesion.label} is a new lesion: it cannot be measured at baseline"})
    if state == MeasurementState.MEASURED:
        if value is None:
            raise ValidationError(
                {
                    field: f"{lesion.label}: enter the diameter in mm, or choose too small, "
                    "disappeared or not assessed"
                }
            )
        if value == 0:
            raise ValidationError({field: f"{lesion.label}: 0 mm means disappeared: choose that state"})
    else:
        value = None
    if is_baseline and state != MeasurementState.MEASURED:
        raise ValidationError({field: f"{lesion.label}: target lesions must be measured at baseline"})
    return {"state": state, "value_mm": value, "non_target_state": ""}


def _check_baseline_sizes(assessment: Assessment, cleaned: dict[Lesion, dict[str, Any]]) -> None:
    participant = assessment.participant
    base = baseline_mm(participant)
    for lesion, entry in cleaned.items():
        base[lesion.label] = float(entry["value_mm"]) if entry["value_mm"] is not None else None
    issues = engine.selection_issues(lesion_rows(participant), base)
    by_label = {les.label: les for les in cleaned}
    errors: dict[str, list[str]] = {}
    for issue in issues:
        for label in issue.lesion_ids:
            if label in by_label and issue.rule not in ("max_5_targets", "max_2_per_organ"):
                errors.setdefault(f"lesion_{by_label[label].pk}", []).append(issue.message)
    if errors:
        raise ValidationError(errors)


def _check_measurement_versions(
    assessment: Assessment, existing: dict[int, Measurement], expected_versions: dict[int, int]
) -> None:
    """Refuse when a measurement the user saw (version, or 0 for none) has changed, appeared or gone since."""
    for lesion_pk, expected in expected_versions.items():
        current = existing.get(lesion_pk)
        if current is None and expected:
            current = assessment.measurements.filter(lesion_id=lesion_pk).order_by("-id").first()
            if current is not None and current.voided:
                raise VersionConflict(current, expected, current.version)
        elif current is not None:
            check_version(current, expected)


@transaction.atomic
def measurements_record(
    *,
    ctx: AuditContext,
    assessment: Assessment,
    entries: dict[int, dict[str, Any]],
    reason: str = "",
    expected_versions: dict[int, int] | None = None,
) -> int:
    """Create or change measurements of an assessment (edits need a reason); then recompute responses.

    entries: {lesion_pk: {"state", "value_mm", "non_target_state"}}; returns the number of rows written.
    expected_versions: {lesion_pk: version of the measurement the user saw, 0 if there was none}; checked
    under the assessment's row lock, so two grids saved at once cannot both write the same measurement."""
    participant = assessment.participant
    require(ctx.user, CAPABILITY, participant.site_id)
    _lock_registry_of(participant.pk)
    lock_current(assessment)
    if assessment.voided:
        raise ValidationError("this assessment is voided")
    lesions = {les.pk: les for les in participant.lesions.filter(voided=False, pk__in=list(entries))}
    unknown = set(entries) - set(lesions)
    if unknown:
        raise ValidationError({"lesion": f"unknown lesion(s) for {participant.study_id}: {sorted(unknown)}"})
    base = baseline_assessment(participant)
    is_baseline = base is None or base.pk == assessment.pk
    cleaned = {lesions[pk]: clean_entry(lesions[pk], e, is_baseline) for pk, e in entries.items()}
    if is_baseline:
        _check_baseline_sizes(assessment, cleaned)
    existing = {m.lesion_id: m for m in assessment.measurements.filter(voided=False)}
    seen = {pk: v for pk, v in (expected_versions or {}).items() if pk in entries}
    _check_measurement_versions(assessment, existing, seen)
    written = 0
    for lesion, data in cleaned.items():
        current = existing.get(lesion.pk)
        if current is None:
            audited_create(
                Measurement(participant=participant, assessment=assessment, lesion=lesion, **data),
                ctx=ctx,
                reason=reason,
            )
            written += 1
            continue
        same = (current.state, current.value_mm, current.non_target_state) == (
            data["state"],
            data["value_mm"],
            data["non_target_state"],
        )
        if same:
            continue
        if not reason.strip():
            raise ValidationError(
                {
                    "reason": f"{lesion.label} already has a value at {assessment.date}: "
                    "a reason for change is required"
                }
            )
        audited_update(current, ctx=ctx, data=data, reason=reason)
        written += 1
    if written:
        responses_recompute(
            ctx=ctx, participant=participant, trigger=f"measurements at {assessment.date} changed"
        )
    return written


def on_registry_void(*, ctx: AuditContext, instance: Any) -> None:
    """Voiding/restoring a lesion, assessment or measurement changes the responses: recompute."""
    responses_recompute(
        ctx=ctx,
        participant=instance.participant,
        trigger=f"{instance._meta.verbose_name} {instance.pk} was voided or restored",
    )
