"""Writes for biopsies and IHC scores: permission first, rules, then audited create/update."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from lesions.models import Lesion
from pathology.models import Biopsy, BiopsyPeriod, IhcScore, MarkerDefinition
from pathology.validation import COUNT_FIELDS, FIELD_KINDS, validate_values
from trial import access
from trial.audit import AuditContext, audited_create, audited_update
from trial.models import Participant
from trial.versioning import lock_current

VALUE_FIELDS = tuple(FIELD_KINDS) + COUNT_FIELDS
DERIVED_FIELDS = ("tps_entered", "cps_entered", "pdl1_discrepancy")
BIOPSY_VISIT_CODES = {BiopsyPeriod.BASELINE: "BL_BIOPSY", BiopsyPeriod.ON_TREATMENT: "OT_BIOPSY"}
BIOPSY_FIELDS = (
    "period",
    "biopsy_date",
    "organ",
    "site_detail",
    "lesion",
    "sample_id",
    "core_count",
    "tumour_cells_present",
    "adequacy_comment",
)


def _check_lesion(participant: Participant, lesion: Lesion | None, organ: str = "x") -> None:
    """A registered lesion of this participant, or none yet (then the organ is required; link it later)."""
    if lesion is None:
        if not (organ or "").strip():
            raise ValidationError(
                {
                    "organ": "Give the organ biopsied when the lesion is not registered yet (link the lesion later)."
                }
            )
        return
    if lesion.participant_id != participant.pk:
        raise ValidationError({"lesion": f"Lesion {lesion.label} belongs to another participant."})
    if lesion.voided:
        raise ValidationError({"lesion": f"Lesion {lesion.label} is voided."})


def _check_biopsy_rules(core_count: int | None, biopsy_date: dt.date | None) -> None:
    if core_count is not None and core_count < 1:
        raise ValidationError({"core_count": "A biopsy has at least one core."})
    if biopsy_date and biopsy_date > timezone.localdate() + dt.timedelta(days=1):
        raise ValidationError({"biopsy_date": "The biopsy date cannot be in the future."})


def _protocol_visit(participant: Participant, period: str):
    return participant.visits.filter(code=BIOPSY_VISIT_CODES.get(period, ""), voided=False).first()


@transaction.atomic
def biopsy_record(
    *,
    ctx: AuditContext,
    participant: Participant,
    period: str,
    biopsy_date: dt.date,
    lesion: Lesion | None,
    sample_id: str,
    core_count: int,
    tumour_cells_present: bool,
    organ: str = "",
    site_detail: str = "",
    adequacy_comment: str = "",
) -> Biopsy:
    access.require(ctx.user, "pathology", participant.site_id)
    _check_lesion(participant, lesion, organ)
    _check_biopsy_rules(core_count, biopsy_date)
    biopsy = Biopsy(
        participant=participant,
        period=period,
        visit=_protocol_visit(participant, period),
        biopsy_date=biopsy_date,
        organ=organ or lesion.organ,
        site_detail=site_detail or (lesion.location if lesion else ""),
        lesion=lesion,
        sample_id=sample_id.strip(),
        core_count=core_count,
        tumour_cells_present=tumour_cells_present,
        adequacy_comment=adequacy_comment,
    )
    return audited_create(biopsy, ctx=ctx)


@transaction.atomic
def biopsy_update(
    *,
    ctx: AuditContext,
    biopsy: Biopsy,
    data: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> dict:
    access.require(ctx.user, "pathology", biopsy.participant.site_id)
    lock_current(biopsy, expected_version=expected_version)
    data = {k: v for k, v in data.items() if k in BIOPSY_FIELDS}
    if "lesion" in data:
        _check_lesion(biopsy.participant, data["lesion"], data.get("organ", biopsy.organ))
    if "period" in data:
        data["visit"] = _protocol_visit(biopsy.participant, data["period"])
    _check_biopsy_rules(data.get("core_count"), data.get("biopsy_date"))
    return audited_update(biopsy, ctx=ctx, data=data, reason=reason)


def _as_number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _two_places(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def clean_values(marker: MarkerDefinition, biopsy: Biopsy, values: dict[str, Any]) -> dict[str, Any]:
    """Validate IHC values against the marker definition; raise ValidationError with field messages."""
    raw = {k: _as_number(values.get(k)) for k in VALUE_FIELDS}
    raw = {k: (None if v == "" else v) for k, v in raw.items()}
    cleaned, errors = validate_values(marker.spec(), raw, tumour_cells_present=biopsy.tumour_cells_present)
    if errors:
        raise ValidationError(errors)
    out: dict[str, Any] = {
        "tps_entered": _two_places(cleaned.get("tps_entered")),
        "cps_entered": _two_places(cleaned.get("cps_entered")),
        "pdl1_discrepancy": bool(cleaned.get("pdl1_discrepancy")),
    }
    for k in VALUE_FIELDS:
        v = cleaned.get(k)
        if k in ("immune_phenotype", "value_category"):
            out[k] = v or ""
        elif isinstance(v, float):
            out[k] = Decimal(str(v)).quantize(Decimal("0.01"))
        else:
            out[k] = v
    return out


def _scorer_number_for(ctx: AuditContext, biopsy: Biopsy, marker: MarkerDefinition) -> int:
    live = list(IhcScore.objects.filter(biopsy=biopsy, marker=marker, voided=False).order_by("scorer_number"))
    if any(s.scorer_id == ctx.user.pk for s in live):
        raise ValidationError(
            f"You have already scored {marker.code} on {biopsy.sample_id}; correct your own entry (with a "
            "reason) instead of adding another."
        )
    if len(live) >= 2:
        raise ValidationError(f"{marker.code} on {biopsy.sample_id} already has two scorers.")
    return 2 if live else 1


@transaction.atomic
def ihc_score_record(
    *,
    ctx: AuditContext,
    biopsy: Biopsy,
    marker: MarkerDefinition,
    score_date: dt.date,
    antibody_clone: str,
    scoring_method: str,
    values: dict[str, Any],
    comment: str = "",
) -> IhcScore:
    """Record one pathologist's score; a second pathologist's score is kept beside the first."""
    access.require(ctx.user, "pathology", biopsy.participant.site_id)
    if biopsy.voided:
        raise ValidationError("This biopsy is voided; its scores cannot be added to.")
    if not marker.active:
        raise ValidationError(f"{marker.code} is no longer in the marker list.")
    if score_date < biopsy.biopsy_date:
        raise ValidationError({"score_date": "The scoring date cannot precede the biopsy date."})
    clean = clean_values(marker, biopsy, values)
    Biopsy.objects.select_for_update().get(
        pk=biopsy.pk
    )  # two pathologists saving at once get numbers 1 and 2
    score = IhcScore(
        participant=biopsy.participant,
        biopsy=biopsy,
        marker=marker,
        scorer_number=_scorer_number_for(ctx, biopsy, marker),
        scorer=ctx.user,
        score_date=score_date,
        antibody_clone=antibody_clone.strip(),
        scoring_method=scoring_method,
        comment=comment,
        **clean,
    )
    return audited_create(score, ctx=ctx)


@transaction.atomic
def ihc_score_update(
    *,
    ctx: AuditContext,
    score: IhcScore,
    values: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
    **meta: Any,
) -> dict:
    """Correct one's own score (reason required); another pathologist adds a second score instead."""
    access.require(ctx.user, "pathology", score.participant.site_id)
    lock_current(score, expected_version=expected_version)
    if score.scorer_id != ctx.user.pk:
        raise ValidationError(
            "Only the pathologist who entered this score may correct it; enter your own score as second scorer."
        )
    if score.voided:
        raise ValidationError("This score is voided.")
    data = clean_values(score.marker, score.biopsy, values)
    for k in ("score_date", "antibody_clone", "scoring_method", "comment"):
        if k in meta:
            data[k] = meta[k]
    return audited_update(score, ctx=ctx, data=data, reason=reason)
