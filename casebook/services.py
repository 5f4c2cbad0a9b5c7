"""Writes of casebook records: every one audited (trial.audit), versioned, scoped to the user's sites.

`record_create` / `record_update` run the record's checks (casebook.rules), which also derive stored values
(the CTCAE grade of a lab result, the Bq/mL of a PK sample); `record_void` / `record_restore` never delete.
Coordinators and investigators at the participant's site may write ("enrolment" capability).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from casebook import rules
from casebook.models import Disposition, ScreeningLogEntry
from trial import access
from trial.audit import AuditContext, audited_create, audited_restore, audited_update, audited_void
from trial.models import Participant, Site
from trial.versioning import lock_current

CAPABILITY = "enrolment"


def _check(
    model: type[models.Model], participant: Participant, values: dict[str, Any], pk: int | None
) -> dict[str, Any]:
    check = rules.CHECKS[model._meta.model_name]
    if model._meta.model_name == "labresult":
        return rules.check_lab_result(participant, values, exclude_pk=pk)
    return check(participant, values)


def _one_disposition(participant: Participant, exclude_pk: int | None = None) -> None:
    qs = Disposition.objects.filter(participant=participant, voided=False).exclude(pk=exclude_pk)
    if qs.exists():
        raise ValidationError(
            "An end of study form is already recorded for this participant: edit it, or void it first."
        )


@transaction.atomic
def record_create(
    *, ctx: AuditContext, model: type[models.Model], participant: Participant, data: dict[str, Any]
) -> models.Model:
    """Check, derive, save and audit a new casebook record of `participant`."""
    access.require(ctx.user, CAPABILITY, participant.site_id)
    list(Participant.objects.select_for_update().filter(pk=participant.pk).values_list("pk", flat=True))
    if model is Disposition:
        _one_disposition(participant)
    values = _check(model, participant, dict(data), None)
    return audited_create(model(participant=participant, **values), ctx=ctx)


@transaction.atomic
def record_update(
    *,
    ctx: AuditContext,
    instance: models.Model,
    data: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> dict[str, list[Any]]:
    """Apply an edit (with its reason) after the same checks as a new record; returns the audited diff."""
    participant = instance.participant
    access.require(ctx.user, CAPABILITY, participant.site_id)
    lock_current(instance, expected_version=expected_version)
    if instance.voided:
        raise ValidationError("A voided record cannot be edited: restore it first.")
    if isinstance(instance, Disposition):
        _one_disposition(participant, exclude_pk=instance.pk)
    values = _check(type(instance), participant, dict(data), instance.pk)
    return audited_update(instance, ctx=ctx, data=values, reason=reason, expected_version=expected_version)


def _site_id(instance: models.Model) -> int:
    return instance.site_id if isinstance(instance, ScreeningLogEntry) else instance.participant.site_id


@transaction.atomic
def record_void(
    *, ctx: AuditContext, instance: models.Model, reason: str, expected_version: int | None = None
) -> None:
    access.require(ctx.user, "void", _site_id(instance))
    audited_void(instance, ctx=ctx, reason=reason, expected_version=expected_version)


@transaction.atomic
def record_restore(
    *, ctx: AuditContext, instance: models.Model, reason: str, expected_version: int | None = None
) -> None:
    access.require(ctx.user, "void", _site_id(instance))
    if isinstance(instance, Disposition):
        _one_disposition(instance.participant, exclude_pk=instance.pk)
    audited_restore(instance, ctx=ctx, reason=reason, expected_version=expected_version)


@transaction.atomic
def screen_failure_record(
    *,
    ctx: AuditContext,
    site: Site,
    screened_on: Any,
    age_band: str,
    failed_criteria: list[str],
    other_reason: str = "",
) -> ScreeningLogEntry:
    """Keep a screen failure without direct identifiers: site, date, age band and the criteria not met."""
    access.require(ctx.user, CAPABILITY, site.pk)
    from trial.site_time import site_today

    errors: dict[str, list[str]] = {}
    if screened_on and screened_on > site_today(site):
        errors["screened_on"] = ["This date is in the future."]
    if not failed_criteria and not (other_reason or "").strip():
        errors["failed_criteria"] = [
            "Choose the criteria not met, or give another reason (e.g. declined consent)."
        ]
    if errors:
        raise ValidationError(errors)
    entry = ScreeningLogEntry(
        site=site,
        screened_on=screened_on,
        age_band=age_band,
        failed_criteria=sorted(set(failed_criteria)),
        other_reason=(other_reason or "").strip(),
    )
    return audited_create(entry, ctx=ctx)
