"""Audit plumbing: every write to clinical data goes through these helpers.

Services call `audited_create`, `audited_update`, `audited_void` and `audited_restore`; each writes the
record and an append-only AuditEntry (who, UTC time, old and new values, reason, source, address) in the
caller's transaction. Edits of an existing record require a reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from trial.audit_chain import append
from trial.client_ip import client_ip
from trial.logging import request_id_var
from trial.models import AuditAction, AuditEntry, AuditSource
from trial.versioning import lock_current
from trial.write_gate import check_write, notify_write


@dataclass(frozen=True)
class AuditContext:
    """Who is acting, from where, and through which channel."""

    user: Any
    source: str = AuditSource.BROWSER
    ip_address: str | None = None
    request_id: str = ""

    @classmethod
    def from_request(cls, request: Any, source: str = AuditSource.BROWSER) -> AuditContext:
        ip = client_ip(request)
        return cls(
            user=request.user,
            source=source,
            ip_address=ip or None,
            request_id=getattr(request, "request_id", "") or request_id_var.get(),
        )

    @classmethod
    def system(cls, source: str = AuditSource.SYSTEM, user: Any = None) -> AuditContext:
        return cls(user=user, source=source, request_id=request_id_var.get())


class ReasonRequired(ValidationError):
    def __init__(self) -> None:
        super().__init__({"reason": "A reason for change is required when editing an existing record."})


def serialise_value(value: Any) -> Any:
    """JSON-safe form of a field value for the audit trail."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [serialise_value(v) for v in value]
    return value


def audited_fields(instance: models.Model) -> list[models.Field]:
    skip = {"created_at", "updated_at", "id"}
    return [f for f in instance._meta.concrete_fields if f.name not in skip]


def snapshot(instance: models.Model) -> dict[str, Any]:
    return {f.attname: serialise_value(getattr(instance, f.attname)) for f in audited_fields(instance)}


def _participant_and_site(instance: models.Model) -> tuple[int | None, int | None]:
    participant_id = getattr(instance, "participant_id", None)
    site_id = getattr(instance, "site_id", None)
    if instance._meta.model_name == "participant":
        participant_id = instance.pk
    if site_id is None and participant_id is not None:
        from trial.models import Participant

        site_id = Participant.objects.filter(pk=participant_id).values_list("site_id", flat=True).first()
    return participant_id, site_id


def _display_name(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{full} ({user.get_username()})" if full else user.get_username()


def write_entry(
    instance: models.Model,
    *,
    ctx: AuditContext,
    action: str,
    changes: dict[str, Any],
    reason: str = "",
) -> AuditEntry:
    participant_id, site_id = _participant_and_site(instance)
    user = ctx.user if getattr(ctx.user, "is_authenticated", False) else None
    return append(
        AuditEntry(
            at=timezone.now(),
            user=user,
            user_display=_display_name(ctx.user),
            action=action,
            app_label=instance._meta.app_label,
            model=instance._meta.model_name,
            object_id=str(instance.pk),
            object_repr=str(instance)[:200],
            participant_id=participant_id,
            site_id=site_id,
            changes=changes,
            reason=reason,
            source=ctx.source,
            ip_address=ctx.ip_address,
            request_id=ctx.request_id or request_id_var.get(),
        )
    )


def audited_create(instance: models.Model, *, ctx: AuditContext, reason: str = "") -> models.Model:
    """Validate, save and audit a new record (all fields as [None, value])."""
    instance.full_clean()
    changes = {k: [None, v] for k, v in snapshot(instance).items() if v not in (None, "")}
    with transaction.atomic(savepoint=False):  # the row, its audit entry and the listeners' work, or nothing
        check_write(instance, action=AuditAction.CREATE, changes=changes)
        instance.save()
        changes = {k: [None, v] for k, v in snapshot(instance).items() if v not in (None, "")}
        write_entry(instance, ctx=ctx, action=AuditAction.CREATE, changes=changes, reason=reason)
        notify_write(instance, action=AuditAction.CREATE, changes=changes, ctx=ctx, reason=reason)
    return instance


def _has_version(instance: models.Model) -> bool:
    return any(f.attname == "version" for f in instance._meta.concrete_fields)


def _save_changes(instance: models.Model, changes: dict[str, list[Any]], fields: list[str]) -> None:
    """Write only `fields` (plus the raised version) in one UPDATE and record the version step in `changes`."""
    if _has_version(instance):
        changes["version"] = [instance.version, instance.version + 1]
        instance.version += 1
        fields = [*fields, "version"]
    instance.save(update_fields=[*fields, "updated_at"])


def audited_update(
    instance: models.Model,
    *,
    ctx: AuditContext,
    data: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> dict[str, list[Any]]:
    """Apply `data` to an existing record; requires a reason; returns the {field: [old, new]} diff.

    The row is locked and reloaded first, and a stale `expected_version` is refused (VersionConflict);
    only the fields that differ from the stored record are written and audited, and `version` is raised
    by one in the same UPDATE (recorded in the audit entry, not in the returned diff).
    """
    if not (reason or "").strip():
        raise ReasonRequired()
    with transaction.atomic(savepoint=False):
        lock_current(instance, expected_version=expected_version)
        before = snapshot(instance)
        for name, value in data.items():
            setattr(instance, name, value)
        instance.full_clean()
        after = snapshot(instance)
        changes = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
        if not changes:
            return {}
        check_write(instance, action=AuditAction.UPDATE, changes=changes)
        _save_changes(instance, changes, list(changes))
        write_entry(instance, ctx=ctx, action=AuditAction.UPDATE, changes=changes, reason=reason.strip())
        notify_write(instance, action=AuditAction.UPDATE, changes=changes, ctx=ctx, reason=reason.strip())
    return {k: v for k, v in changes.items() if k != "version"}


def audited_void(
    instance: models.Model, *, ctx: AuditContext, reason: str, expected_version: int | None = None
) -> None:
    """Void (never delete) a record, with its reason."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "A reason is required to void a record."})
    with transaction.atomic(savepoint=False):
        lock_current(instance, expected_version=expected_version)
        if instance.voided:
            raise ValidationError("This record is already voided.")
        instance.voided = True
        instance.voided_at = timezone.now()
        instance.void_reason = reason.strip()
        changes: dict[str, list[Any]] = {"voided": [False, True]}
        check_write(instance, action=AuditAction.VOID, changes=changes)
        _save_changes(instance, changes, ["voided", "voided_at", "void_reason"])
        write_entry(instance, ctx=ctx, action=AuditAction.VOID, changes=changes, reason=reason.strip())
        notify_write(instance, action=AuditAction.VOID, changes=changes, ctx=ctx, reason=reason.strip())


def audited_restore(
    instance: models.Model, *, ctx: AuditContext, reason: str, expected_version: int | None = None
) -> None:
    if not (reason or "").strip():
        raise ValidationError({"reason": "A reason is required to restore a record."})
    with transaction.atomic(savepoint=False):
        lock_current(instance, expected_version=expected_version)
        if not instance.voided:
            raise ValidationError("This record is not voided.")
        instance.voided = False
        instance.voided_at = None
        instance.void_reason = ""
        changes: dict[str, list[Any]] = {"voided": [True, False]}
        check_write(instance, action=AuditAction.RESTORE, changes=changes)
        _save_changes(instance, changes, ["voided", "voided_at", "void_reason"])
        write_entry(instance, ctx=ctx, action=AuditAction.RESTORE, changes=changes, reason=reason.strip())
        notify_write(instance, action=AuditAction.RESTORE, changes=changes, ctx=ctx, reason=reason.strip())


def history_for(instance: models.Model):
    return AuditEntry.objects.filter(
        app_label=instance._meta.app_label, model=instance._meta.model_name, object_id=str(instance.pk)
    ).order_by("id")


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"
