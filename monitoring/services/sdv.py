"""Source data verification: marks bound to the verified values; a later change clears them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from monitoring import targets
from monitoring.models import LockKind, SdvMark
from monitoring.services.common import has_role_at, lock_message, lock_of, record_for
from trial.audit import AuditContext, snapshot, write_entry
from trial.models import AuditAction, Participant, Role
from trial.write_gate import RecordLocked

# Not part of what a monitor verifies (bookkeeping of the record, not source data).
UNVERIFIED_FIELDS = frozenset({"version", "voided", "voided_at", "void_reason", "created_at", "updated_at"})


def _field_names(record: models.Model) -> dict[str, str]:
    """{name or attname: attname} of the verifiable fields."""
    names: dict[str, str] = {}
    for f in record._meta.concrete_fields:
        if f.name in UNVERIFIED_FIELDS or f.primary_key:
            continue
        names[f.name] = f.attname
        names[f.attname] = f.attname
    return names


def value_hash(record: models.Model, field: str = "") -> str:
    """SHA-256 of the verified value(s): one field, or every verifiable field of the record."""
    snap = snapshot(record)
    if field:
        content: Any = {field: snap.get(field)}
    else:
        content = {k: v for k, v in snap.items() if k not in UNVERIFIED_FIELDS}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sdv_mark(
    *, ctx: AuditContext, resource: str, object_id: Any, fields: list[str] | None = None
) -> list[SdvMark]:
    """Mark a record (fields empty) or some of its fields verified by a monitor (audited)."""
    res, record = record_for(ctx.user, resource, object_id)
    return _mark_record(ctx=ctx, resource=res.name, record=record, fields=list(fields or []))


def _mark_record(
    *, ctx: AuditContext, resource: str, record: models.Model, fields: list[str]
) -> list[SdvMark]:
    if getattr(record, "voided", False):
        raise ValidationError({"object_id": "A voided record is not verified."})
    names = _field_names(record)
    unknown = [f for f in fields if f not in names]
    if unknown:
        raise ValidationError({"fields": f"Unknown field(s) of {resource}: {', '.join(unknown)}."})
    participant = Participant.objects.filter(pk=targets.participant_id_of(record)).first()
    if participant is None:
        raise ValidationError({"object_id": "This record belongs to no participant; it is not verified."})
    if not has_role_at(ctx.user, Role.MONITOR, participant.site_id):
        raise PermissionDenied("Only a monitor of this site may mark source data verified.")
    attnames = list(dict.fromkeys(names[f] for f in fields)) or [""]
    marks = []
    with transaction.atomic():
        record = type(record)._base_manager.select_for_update().get(pk=record.pk)
        lock = lock_of(record, kinds=(LockKind.LOCK,))
        if lock is not None:
            raise RecordLocked(lock_message(lock, "This record"))
        live = {
            m.field: m
            for m in SdvMark.objects.filter(
                app_label=record._meta.app_label,
                model=record._meta.model_name,
                object_id=record.pk,
                cleared_at__isnull=True,
            )
        }
        for attname in attnames:
            if attname in live:
                marks.append(live[attname])
                continue
            mark = SdvMark.objects.create(
                resource=resource,
                app_label=record._meta.app_label,
                model=record._meta.model_name,
                object_id=record.pk,
                field=attname,
                participant=participant,
                site_id=participant.site_id,
                record_version=getattr(record, "version", 1),
                value_hash=value_hash(record, attname),
                verified_by=ctx.user,
                verified_at=timezone.now(),
            )
            write_entry(
                mark,
                ctx=ctx,
                action=AuditAction.CREATE,
                changes={
                    "record": [None, f"{resource} {record.pk} v{mark.record_version}"],
                    "field": [None, attname or "(whole record)"],
                    "value_hash": [None, mark.value_hash],
                },
                reason="Source data verified",
            )
            marks.append(mark)
    return marks


def sdv_mark_many(*, ctx: AuditContext, items: list[tuple[str, models.Model]]) -> int:
    """Verify whole records (a form or a visit at once); returns how many records are now verified."""
    with transaction.atomic():
        for resource, record in items:
            _mark_record(ctx=ctx, resource=resource, record=record, fields=[])
    return len(items)


def sdv_on_write(
    instance: models.Model, *, action: str, changes: dict[str, list[Any]], ctx: Any, reason: str
) -> None:
    """Write-gate listener: a change of a verified value clears its mark ("changed since verification")."""
    if not targets.is_clinical(instance) or action == AuditAction.CREATE:
        return
    marks = list(
        SdvMark.objects.select_for_update().filter(
            app_label=instance._meta.app_label,
            model=instance._meta.model_name,
            object_id=instance.pk,
            cleared_at__isnull=True,
        )
    )
    if not marks:
        return
    changed = {k for k in changes if k not in UNVERIFIED_FIELDS}
    now = timezone.now()
    for mark in marks:
        if action == AuditAction.UPDATE and mark.field and mark.field not in changed:
            continue
        if action == AuditAction.UPDATE and not mark.field and not changed:
            continue
        what = mark.field or ", ".join(sorted(changed)) or action
        mark.cleared_at = now
        mark.cleared_reason = f"Changed since verification ({action}: {what}): {reason}".strip()
        mark.save(update_fields=["cleared_at", "cleared_reason", "updated_at"])
        write_entry(
            mark,
            ctx=ctx,
            action=AuditAction.UPDATE,
            changes={"cleared_at": [None, now.isoformat()]},
            reason=mark.cleared_reason,
        )
