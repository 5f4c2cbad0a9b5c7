"""Freeze and lock at record, casebook, site and study level; release with a reason; the write-gate guard."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from monitoring import targets
from monitoring.models import DataLock, LockKind, LockScope, RefusedWrite
from monitoring.services.common import (
    has_role_at,
    is_data_manager,
    lock_message,
    lock_of,
    record_for,
)
from trial import access
from trial.audit import AuditContext, write_entry
from trial.models import AuditAction, Participant, Role
from trial.write_gate import RecordLocked


def _target(user: Any, scope: str, resource: str, object_id: Any) -> dict[str, Any]:
    """The DataLock fields naming the target, checked against what the user may see."""
    if scope == LockScope.STUDY:
        return {}
    if scope == LockScope.SITE:
        site = access.sites_visible_to(user).filter(pk=_int(object_id)).first()
        if site is None:
            raise ValidationError({"object_id": f"No site {object_id} visible to you."})
        return {"site": site}
    if scope == LockScope.PARTICIPANT:
        if resource and resource != "participants":
            raise ValidationError(
                {"resource": 'A casebook lock names a participant ("participants" or none).'}
            )
        qs = access.scope_to_user(Participant.objects.all(), user, site_field="site")
        participant = qs.filter(pk=_int(object_id)).first()
        if participant is None:
            raise ValidationError({"object_id": f"No participant {object_id} at your sites."})
        return {"participant": participant, "site": participant.site}
    res, record = record_for(user, resource, object_id)
    participant_id = targets.participant_id_of(record)
    site_id = Participant.objects.filter(pk=participant_id).values_list("site_id", flat=True).first()
    if site_id is None:
        raise ValidationError(
            {"object_id": "This record belongs to no participant; lock its casebook instead."}
        )
    return {
        "resource": res.name,
        "app_label": record._meta.app_label,
        "model": record._meta.model_name,
        "object_id": record.pk,
        "participant_id": participant_id,
        "site_id": site_id,
    }


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"object_id": "The object id must be a whole number."}) from exc


def _may_apply(user: Any, kind: str, scope: str, site_id: int | None) -> None:
    """Data managers lock and freeze anything; a monitor may freeze a record or casebook at their site."""
    if is_data_manager(user):
        return
    monitor_ok = (
        kind == LockKind.FREEZE
        and scope in (LockScope.RECORD, LockScope.PARTICIPANT)
        and site_id is not None
        and has_role_at(user, Role.MONITOR, site_id)
    )
    if not monitor_ok:
        raise PermissionDenied(
            "Only a data manager may lock data or freeze a site or the study (a monitor may freeze a record "
            "or a casebook at their site)."
        )


def _same_target(fields: dict[str, Any], scope: str) -> models.QuerySet[DataLock]:
    key = {
        "scope": scope,
        "site_id": getattr(fields.get("site"), "pk", fields.get("site_id")),
        "participant_id": getattr(fields.get("participant"), "pk", fields.get("participant_id")),
        "app_label": fields.get("app_label", ""),
        "model": fields.get("model", ""),
        "object_id": fields.get("object_id"),
    }
    return DataLock.objects.select_for_update().filter(released_at__isnull=True, **key)


def lock_apply(
    *,
    ctx: AuditContext,
    scope: str,
    reason: str,
    kind: str = LockKind.LOCK,
    resource: str = "",
    object_id: Any = None,
) -> DataLock:
    """Freeze or lock a target (audited, action lock); a lock replaces a live freeze of the same target."""
    if scope not in LockScope.values:
        raise ValidationError({"scope": f"Scope must be one of {', '.join(LockScope.values)}."})
    if kind not in LockKind.values:
        raise ValidationError({"kind": "Kind must be freeze or lock."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "A reason is required."})
    fields = _target(ctx.user, scope, resource, object_id)
    site = fields.get("site")
    _may_apply(ctx.user, kind, scope, getattr(site, "pk", fields.get("site_id")))
    with transaction.atomic():
        for existing in _same_target(fields, scope):
            if existing.kind == kind or existing.kind == LockKind.LOCK:
                raise ValidationError(
                    f"{existing.target_label[:1].upper()}{existing.target_label[1:]} is already {existing.get_kind_display().lower()}."
                )
            _release(ctx=ctx, lock=existing, reason=f"Superseded by a lock: {reason.strip()}")
        lock = DataLock(scope=scope, kind=kind, reason=reason.strip(), created_by=ctx.user, **fields)
        try:
            with transaction.atomic():
                lock.save()
        except IntegrityError as exc:
            raise ValidationError("This target was locked by someone else a moment ago.") from exc
        write_entry(
            lock,
            ctx=ctx,
            action=AuditAction.LOCK,
            changes={"scope": [None, scope], "kind": [None, kind], "target": [None, lock.target_label]},
            reason=lock.reason,
        )
    return lock


def _release(*, ctx: AuditContext, lock: DataLock, reason: str) -> DataLock:
    lock.released_at = timezone.now()
    lock.released_by = ctx.user
    lock.release_reason = reason
    lock.save(update_fields=["released_at", "released_by", "release_reason"])
    write_entry(
        lock,
        ctx=ctx,
        action=AuditAction.UNLOCK,
        changes={"released_at": [None, lock.released_at.isoformat()], "target": [lock.target_label, None]},
        reason=reason,
    )
    return lock


def lock_release(*, ctx: AuditContext, lock: DataLock, reason: str) -> DataLock:
    """Unfreeze or unlock: a data manager's action with a reason (audited, action unlock)."""
    if not is_data_manager(ctx.user):
        raise PermissionDenied("Only a data manager may release a freeze or lock.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "A reason is required to release a lock."})
    with transaction.atomic():
        lock = DataLock.objects.select_for_update().get(pk=lock.pk)
        if lock.released_at is not None:
            raise ValidationError("This lock was already released.")
        return _release(ctx=ctx, lock=lock, reason=reason.strip())


def lock_guard(instance: models.Model, *, action: str, changes: dict[str, list[Any]]) -> None:
    """Write-gate guard: refuse any audited write to frozen or locked clinical data (one query)."""
    if not targets.is_clinical(instance):
        return
    lock = lock_of(instance)
    if lock is not None:
        what = f"This {instance._meta.verbose_name}" + (f" ({instance})" if instance.pk else "")
        raise RecordLocked(lock_message(lock, what))


def record_refusal(instance: models.Model, *, ctx: AuditContext, what: str, message: str) -> RefusedWrite:
    """Write-gate refusal recorder: store (audited) a refused write that no person saw being refused."""
    participant_id = targets.participant_id_of(instance)
    site_id = (
        Participant.objects.filter(pk=participant_id).values_list("site_id", flat=True).first()
        if participant_id
        else None
    )
    row = RefusedWrite.objects.create(
        app_label=instance._meta.app_label,
        model=instance._meta.model_name,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        participant_id=participant_id,
        site_id=site_id,
        source=ctx.source,
        what=what[:120],
        message=message,
    )
    changes = {"what": [None, row.what], "object": [None, f"{row.app_label}.{row.model} {row.object_id}"]}
    write_entry(row, ctx=ctx, action=AuditAction.CREATE, changes=changes, reason=message)
    return row


def study_locked() -> DataLock | None:
    return DataLock.objects.filter(
        scope=LockScope.STUDY, kind=LockKind.LOCK, released_at__isnull=True
    ).first()


def final_export_start(*, ctx: AuditContext) -> Any:
    """Start the final bulk export: refused unless the study database is locked."""
    from exports import services as export_services

    if not is_data_manager(ctx.user):
        raise PermissionDenied("Only a data manager may start the final export.")
    if study_locked() is None:
        raise ValidationError("The study database is not locked: lock the study before the final export.")
    return export_services.export_job_start(ctx=ctx)
