"""Writes of the lesion registry, RECIST assessments and MRI results (audited; permission first)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from lesions import engine
from lesions.models import (
    PARAMETER_FIELDS,
    Assessment,
    JobStatus,
    Lesion,
    LesionRole,
    MaskAnalysis,
    Measurement,
    MeasurementState,
    MriParameterSet,
    MriRoi,
    NonTargetState,
    ParameterKind,
    ParameterMethod,
    ParticipantResponse,
)
from trial.access import require
from trial.audit import AuditContext, audited_create, audited_update
from trial.models import Participant, Visit

CAPABILITY = "lesions"
MAX_MM = Decimal("1000")


# ------------------------------------------------------------------ engine inputs from the database


def lesion_rows(participant: Participant) -> list[engine.LesionRow]:
    return [
        engine.LesionRow(les.label, les.role, les.organ.strip().lower(), les.nodal)
        for les in participant.lesions.filter(voided=False)
    ]


def measurement_row(m: Measurement) -> engine.MeasurementRow:
    value = float(m.value_mm) if m.value_mm is not None else None
    return engine.MeasurementRow(m.lesion.label, m.state, value, m.non_target_state)


def assessment_rows(participant: Participant) -> list[engine.AssessmentRow]:
    rows = {a.pk: engine.AssessmentRow(a.pk, a.date) for a in participant.assessments.filter(voided=False)}
    qs = Measurement.objects.filter(
        assessment__in=list(rows), voided=False, lesion__voided=False
    ).select_related("lesion")
    for m in qs:
        rows[m.assessment_id].measurements[m.lesion.label] = measurement_row(m)
    return sorted(rows.values(), key=lambda r: r.date)


def baseline_assessment(participant: Participant) -> Assessment | None:
    return participant.assessments.filter(voided=False).order_by("date").first()


def baseline_mm(participant: Participant) -> dict[str, float | None]:
    base = baseline_assessment(participant)
    if base is None:
        return {}
    return {
        m.lesion.label: engine.effective_mm(measurement_row(m))
        for m in base.measurements.filter(voided=False).select_related("lesion")
    }


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
def lesion_update(*, ctx: AuditContext, lesion: Lesion, data: dict[str, Any], reason: str) -> dict:
    require(ctx.user, CAPABILITY, lesion.participant.site_id)
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
    *, ctx: AuditContext, assessment: Assessment, data: dict[str, Any], reason: str
) -> dict:
    require(ctx.user, CAPABILITY, assessment.participant.site_id)
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


@transaction.atomic
def measurements_record(
    *, ctx: AuditContext, assessment: Assessment, entries: dict[int, dict[str, Any]], reason: str = ""
) -> int:
    """Create or change measurements of an assessment (edits need a reason); then recompute responses.

    entries: {lesion_pk: {"state", "value_mm", "non_target_state"}}; returns the number of rows written."""
    participant = assessment.participant
    require(ctx.user, CAPABILITY, participant.site_id)
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


# ------------------------------------------------------------------ MRI


def store_bytes(folder: str, name: str, data: bytes) -> str:
    """Save bytes on the default storage under lesions/<folder>/ and return the stored path."""
    safe = os.path.basename(name or "upload").replace(" ", "_")[:80] or "upload"
    return default_storage.save(f"lesions/{folder}/{uuid.uuid4().hex[:12]}_{safe}", ContentFile(data))


def read_bytes(path: str) -> bytes:
    with default_storage.open(path, "rb") as fh:
        return fh.read()


def roi_get_or_create(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    visit: Visit | None = None,
    label: str = "whole lesion",
) -> MriRoi:
    require(ctx.user, CAPABILITY, lesion.participant.site_id)
    if visit is not None and (visit.participant_id != lesion.participant_id or visit.kind != "mri"):
        raise ValidationError({"visit": "choose one of this participant's MRI visits"})
    roi = MriRoi.objects.filter(lesion=lesion, acquired_on=acquired_on, label=label, voided=False).first()
    if roi is None:
        roi = audited_create(
            MriRoi(
                participant=lesion.participant,
                lesion=lesion,
                visit=visit,
                acquired_on=acquired_on,
                label=label,
            ),
            ctx=ctx,
        )
    return roi


def _check_values(kind: str, values: dict[str, float | None]) -> dict[str, float]:
    clean = {k: v for k, v in values.items() if v is not None}
    unknown = set(clean) - set(PARAMETER_FIELDS)
    if unknown:
        raise ValidationError({"__all__": f"unknown parameter(s): {', '.join(sorted(unknown))}"})
    if not clean:
        raise ValidationError({"__all__": "enter at least one parameter value"})
    fractions = ("ve", "vp", "ivim_f")
    for name, value in clean.items():
        if value < 0 and name != "washout_fraction":
            raise ValidationError({name: f"{name} cannot be negative"})
        if name in fractions and value > 1:
            raise ValidationError({name: f"{name} is a fraction between 0 and 1"})
    dce_only = {
        "ktrans_per_min",
        "ve",
        "vp",
        "kep_per_min",
        "fp_ml_100ml_min",
        "ps_per_min",
        "iauc60_mm_s",
        "iauc90_mm_s",
        "time_to_peak_s",
        "initial_slope_mm_per_s",
        "washout_fraction",
    }
    allowed = {
        "dce": dce_only,
        "ivim": {"ivim_f", "ivim_d_mm2_s", "ivim_dstar_mm2_s"},
        "dki": {"dki_d_mm2_s", "dki_k"},
    }[kind]
    wrong = set(clean) - allowed
    if wrong:
        raise ValidationError({sorted(wrong)[0]: f"{', '.join(sorted(wrong))} do not belong to a {kind} set"})
    return clean


@transaction.atomic
def parameters_enter(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    kind: str,
    values: dict[str, float | None],
    model: str = "",
    visit: Visit | None = None,
    roi_label: str = "whole lesion",
    fit_rms: float | None = None,
) -> MriParameterSet:
    """Store fitted parameters typed in by the radiologist."""
    clean = _check_values(kind, values)
    if kind == "dce" and "ktrans_per_min" in clean and "ve" in clean and clean["ve"] > 0:
        clean.setdefault("kep_per_min", clean["ktrans_per_min"] / clean["ve"])
    roi = roi_get_or_create(ctx=ctx, lesion=lesion, acquired_on=acquired_on, visit=visit, label=roi_label)
    ps = MriParameterSet(
        participant=lesion.participant,
        roi=roi,
        kind=kind,
        method=ParameterMethod.ENTERED,
        model=model,
        fit_rms=fit_rms,
        status=JobStatus.DONE,
        provenance={"source": "entered by reader"},
        **clean,
    )
    return audited_create(ps, ctx=ctx)


DCE_MODELS = ("tofts", "extended_tofts", "2cxm")


@transaction.atomic
def curve_upload(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    kind: str,
    upload: UploadedFile,
    model: str = "",
    visit: Visit | None = None,
    roi_label: str = "whole lesion",
) -> MriParameterSet:
    """Store an uploaded curve CSV and queue its fit (lesions.tasks.fit_curve)."""
    from lesions import tasks
    from quant.mri import io as mri_io

    if kind not in ParameterKind.values:
        raise ValidationError({"kind": f"unknown kind {kind!r}"})
    if kind == "dce" and model not in DCE_MODELS:
        raise ValidationError({"model": f"choose a DCE model: {', '.join(DCE_MODELS)}"})
    data = upload.read()
    try:
        mri_io.parse_curve(data, kind)
    except mri_io.MriInputError as exc:
        raise ValidationError({"upload": str(exc)}) from exc
    roi = roi_get_or_create(ctx=ctx, lesion=lesion, acquired_on=acquired_on, visit=visit, label=roi_label)
    if kind == "ivim":
        model = model or "ivim_segmented"
    ps = MriParameterSet(
        participant=lesion.participant,
        roi=roi,
        kind=kind,
        method=ParameterMethod.CURVE_FIT,
        model=model or kind,
        status=JobStatus.PENDING,
    )
    ps.input_file = store_bytes("mri", upload.name or "curve.csv", data)
    audited_create(ps, ctx=ctx)
    transaction.on_commit(lambda: tasks.fit_curve.delay(ps.pk))
    return ps


@transaction.atomic
def voxelwise_upload(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    dynamic: UploadedFile,
    mask: UploadedFile,
    aif: UploadedFile | None = None,
    population_delay_s: float = 0.0,
    visit: Visit | None = None,
    roi_label: str = "whole lesion",
) -> MriParameterSet:
    """Store a 4D concentration series, a 3D mask and an AIF; queue the voxel-wise extended Tofts fit."""
    from lesions import tasks
    from quant.mri import io as mri_io

    dyn_bytes, mask_bytes = dynamic.read(), mask.read()
    aif_bytes = aif.read() if aif else b""
    try:
        dyn, zooms, _ = mri_io.load_nifti(dyn_bytes, "dynamic series")
        msk, _, _ = mri_io.load_nifti(mask_bytes, "mask")
        mri_io.check_dynamic(dyn, msk)
        if aif_bytes:
            cols = mri_io.parse_csv_columns(aif_bytes, mri_io.AIF_COLUMNS, "AIF CSV")
            if cols["t_s"].size != dyn.shape[3]:
                raise mri_io.MriInputError(
                    f"AIF CSV has {cols['t_s'].size} rows but the dynamic series has {dyn.shape[3]} frames"
                )
        else:
            mri_io.frame_times(zooms, dyn.shape[3])
    except mri_io.MriInputError as exc:
        raise ValidationError({"dynamic": str(exc)}) from exc
    roi = roi_get_or_create(ctx=ctx, lesion=lesion, acquired_on=acquired_on, visit=visit, label=roi_label)
    ps = MriParameterSet(
        participant=lesion.participant,
        roi=roi,
        kind=ParameterKind.DCE,
        method=ParameterMethod.VOXELWISE,
        model="extended_tofts",
        status=JobStatus.PENDING,
        provenance={
            "aif": "measured (uploaded CSV)" if aif_bytes else "Parker 2006 population AIF",
            "population_delay_s": population_delay_s,
        },
    )
    ps.input_file = store_bytes("mri", dynamic.name or "dynamic.nii.gz", dyn_bytes)
    ps.mask_file = store_bytes("mri", mask.name or "mask.nii.gz", mask_bytes)
    if aif_bytes:
        ps.aif_file = store_bytes("mri", aif.name or "aif.csv", aif_bytes)
    audited_create(ps, ctx=ctx)
    transaction.on_commit(lambda: tasks.fit_voxelwise.delay(ps.pk))
    return ps


@transaction.atomic
def mask_analysis_upload(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    mask: UploadedFile,
    image: UploadedFile | None = None,
    bin_width: float | None = None,
    modality: str = "mri",
) -> MaskAnalysis:
    """Store a lesion mask (and optional image for texture); queue volumetry + texture."""
    from lesions import tasks
    from quant.mri import io as mri_io

    require(ctx.user, CAPABILITY, lesion.participant.site_id)
    mask_bytes = mask.read()
    image_bytes = image.read() if image else b""
    try:
        msk, _, _ = mri_io.load_nifti(mask_bytes, "mask")
        if msk.ndim != 3 or not (msk > 0).any():
            raise mri_io.MriInputError("mask must be a non-empty 3D image")
        if image_bytes:
            img, _, _ = mri_io.load_nifti(image_bytes, "image")
            if img.shape != msk.shape:
                raise mri_io.MriInputError(f"image shape {img.shape} does not match mask shape {msk.shape}")
    except mri_io.MriInputError as exc:
        raise ValidationError({"mask": str(exc)}) from exc
    if image_bytes and not (bin_width and bin_width > 0):
        raise ValidationError({"bin_width": "texture needs a positive fixed bin width"})
    ma = MaskAnalysis(
        participant=lesion.participant,
        lesion=lesion,
        acquired_on=acquired_on,
        modality=modality,
        bin_width=bin_width if image_bytes else None,
        status=JobStatus.PENDING,
    )
    ma.mask_file = store_bytes("masks", mask.name or "mask.nii.gz", mask_bytes)
    if image_bytes:
        ma.image_file = store_bytes("masks", image.name or "image.nii.gz", image_bytes)
    audited_create(ma, ctx=ctx)
    transaction.on_commit(lambda: tasks.analyse_mask.delay(ma.pk))
    return ma


def job_finish(*, ctx: AuditContext, instance: Any, data: dict[str, Any], what: str) -> None:
    """Store a worker's result (audited)."""
    audited_update(instance, ctx=ctx, data=data, reason=f"{what} computed by worker")
