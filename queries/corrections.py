"""Correcting a queried value in the same step as the answer, through the record's own rules.

Each kind of record is corrected the way its own pages correct it (AE rules, the visit window rule, the
IHC value rules), and every correction ends in `trial.audit.audited_update`: the write gate (lock guard,
version, listeners) sees it like any other edit. The reason of the change is the answer's text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from queries.targets import Target
from trial.audit import AuditContext, audited_update

Corrector = Callable[[AuditContext, Target, models.Field, Any, str], None]


def parse_value(field: models.Field, raw: Any) -> Any:
    """The posted value in the field's Python type; ValidationError({"new_value": ...}) if it is not one."""
    if isinstance(raw, (list, dict)):
        raise ValidationError(
            {"new_value": ["A single value (text, number or true/false), not a list or object."]}
        )
    if raw == "" and (
        field.null and not field.blank or isinstance(field, (models.DateField, models.DecimalField))
    ):
        raw = None
    if isinstance(field, models.BooleanField) and isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered in {"true", "1", "yes", "on"}:
            return True
        if lowered in {"false", "0", "no", "off", ""}:
            return False
    try:
        value = field.to_python(raw)
    except ValidationError as exc:
        raise ValidationError({"new_value": exc.messages}) from None
    if isinstance(value, str) and not isinstance(field, (models.CharField, models.TextField)):
        raise ValidationError({"new_value": [f"Not a valid value for {field.verbose_name}."]})
    return value


def _default(ctx: AuditContext, target: Target, field: models.Field, value: Any, reason: str) -> None:
    audited_update(target.record, ctx=ctx, data={field.name: value}, reason=reason)


def _adverse_event(ctx: AuditContext, target: Target, field: models.Field, value: Any, reason: str) -> None:
    from safety import services as safety_services
    from safety.rules import SAE_CRITERIA

    ae = target.record
    if field.name == "serious" or field.name in dict(SAE_CRITERIA) or field.name == "term":
        raise ValidationError(
            {
                "new_value": [
                    "Seriousness and the CTCAE term are changed on the AE page, not in a query answer."
                ]
            }
        )
    merged = {**safety_services.current_values(ae), field.name: value}
    data = safety_services.validate(ae.participant, merged)
    changes = audited_update(ae, ctx=ctx, data=data, reason=reason)
    if changes:
        safety_services.signature_void_for(
            ctx=ctx, participant=ae.participant, reason=f"AE {ae.pk} corrected in a query answer: {reason}"
        )


def _visit(ctx: AuditContext, target: Target, field: models.Field, value: Any, reason: str) -> None:
    from trial import services as trial_services

    visit = target.record
    if field.name not in {"status", "actual_date", "out_of_window_reason"}:
        raise ValidationError(
            {"new_value": ["Only the status, date and window explanation of a visit are corrected here."]}
        )
    current = {
        "status": visit.status,
        "actual_date": visit.actual_date,
        "out_of_window_reason": visit.out_of_window_reason,
    }
    current[field.name] = (
        value if value is not None else ("" if field.name == "out_of_window_reason" else None)
    )
    trial_services.visit_record(ctx=ctx, visit=visit, reason=reason, **current)


def _ihc_score(ctx: AuditContext, target: Target, field: models.Field, value: Any, reason: str) -> None:
    from pathology import services as pathology_services
    from pathology.services import VALUE_FIELDS

    score = target.record
    if field.name in VALUE_FIELDS:
        values = {k: getattr(score, k) for k in VALUE_FIELDS}
        values[field.name] = value
        pathology_services.ihc_score_update(ctx=ctx, score=score, values=values, reason=reason)
        return
    if field.name not in {"score_date", "antibody_clone", "scoring_method", "comment"}:
        raise ValidationError(
            {"new_value": ["This field of an IHC score is not corrected in a query answer."]}
        )
    values = {k: getattr(score, k) for k in VALUE_FIELDS}
    pathology_services.ihc_score_update(
        ctx=ctx, score=score, values=values, reason=reason, **{field.name: value}
    )


def _casebook(ctx: AuditContext, target: Target, field: models.Field, value: Any, reason: str) -> None:
    """Casebook records are re-checked (and derived values such as a lab's grade recomputed) by their service."""
    from casebook import services as casebook_services

    record = target.record
    skip = {"id", "participant", "created_at", "updated_at", "voided", "voided_at", "void_reason", "version"}
    data = {
        f.name: getattr(record, f.name)
        for f in record._meta.concrete_fields
        if f.editable and f.name not in skip
    }
    data[field.name] = value
    casebook_services.record_update(ctx=ctx, instance=record, data=data, reason=reason)


def _biopsy(ctx: AuditContext, target: Target, field: models.Field, value: Any, reason: str) -> None:
    from pathology import services as pathology_services

    pathology_services.biopsy_update(ctx=ctx, biopsy=target.record, data={field.name: value}, reason=reason)


CORRECTORS: dict[str, Corrector] = {
    "safety.adverseevent": _adverse_event,
    "trial.visit": _visit,
    "pathology.ihcscore": _ihc_score,
    "pathology.biopsy": _biopsy,
}


def correct(ctx: AuditContext, target: Target, field: models.Field, value: Any, reason: str) -> None:
    if getattr(target.record, "voided", False):
        raise ValidationError({"new_value": ["The record is voided: restore it before correcting it."]})
    corrector = CORRECTORS.get(target.model_label)
    if corrector is None and target.record._meta.app_label == "casebook":
        corrector = _casebook
    (corrector or _default)(ctx, target, field, value, reason)
