"""Casebook sign-off: the investigator's signature over every live record of a participant's casebook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts import lockout
from monitoring import targets
from monitoring.models import CasebookMeaning, CasebookSignature, LockKind
from monitoring.services.common import live_lock, lock_message
from safety import signing
from trial import access
from trial.audit import AuditContext, write_entry
from trial.models import AuditAction, ClinicalRecord, Participant


@dataclass(frozen=True)
class CoveredRecord:
    resource: str
    id: int
    version: int
    label: str

    @property
    def form(self) -> str:
        return targets.form_label(self.resource)


def casebook_resources() -> list[Any]:
    """Export resources whose records belong to a participant's casebook (clinical, versioned)."""
    from exports.resources import load_all

    out = []
    for resource in load_all().values():
        model = resource.model
        if not issubclass(model, ClinicalRecord) or model._meta.app_label in targets.NON_CLINICAL_APPS:
            continue
        if targets.participant_path(model) is None:
            continue
        out.append(resource)
    return out


def casebook_records(participant: Participant, with_labels: bool = False) -> list[CoveredRecord]:
    """Every live record of the casebook, in a stable order (resource name, id)."""
    covered: list[CoveredRecord] = []
    for resource in sorted(casebook_resources(), key=lambda r: r.name):
        path = targets.participant_path(resource.model)
        flt = {"pk": participant.pk} if path == () else {"__".join(path): participant.pk}
        qs = resource.model._base_manager.filter(voided=False, **flt).order_by("pk")
        if with_labels:
            covered += [CoveredRecord(resource.name, r.pk, r.version, str(r)) for r in qs]
        else:
            covered += [CoveredRecord(resource.name, pk, v, "") for pk, v in qs.values_list("pk", "version")]
    return covered


def casebook_hash(records: list[CoveredRecord]) -> str:
    """SHA-256 over the canonical JSON of (resource, id, version) of the covered records."""
    return signing.content_hash(
        [
            {"id": f"{r.resource}/{r.id:012d}", "resource": r.resource, "record": r.id, "version": r.version}
            for r in records
        ]
    )


def active_signature(participant: Participant) -> CasebookSignature | None:
    return (
        CasebookSignature.objects.filter(participant=participant, voided=False).order_by("-signed_at").first()
    )


def signature_intact(signature: CasebookSignature) -> bool:
    return casebook_hash(casebook_records(signature.participant)) == signature.content_hash


def _lock_participant(participant: Participant) -> None:
    Participant._base_manager.select_for_update().filter(pk=participant.pk).values_list(
        "pk", flat=True
    ).first()


def casebook_sign(
    *, ctx: AuditContext, participant: Participant, password: str, meaning: str
) -> CasebookSignature:
    """Sign the casebook: password again (failures count towards the account lockout), stated meaning."""
    access.require(ctx.user, "sign_adverse_events", participant.site_id)
    attempt = lockout.counted_attempt(
        ctx.user.get_username(), lambda: check_password(password or "", ctx.user.password), ctx.ip_address
    )
    if not attempt.checked:
        raise ValidationError(
            {"password": f"{lockout.lock_message(attempt.locked_until)} The casebook was not signed."}
        )
    if not attempt.ok:
        raise ValidationError({"password": "The password is not correct; the casebook was not signed."})
    if meaning not in CasebookMeaning.values:
        raise ValidationError({"meaning": "Choose the meaning of the signature."})
    with transaction.atomic():
        _lock_participant(participant)
        lock = live_lock(participant=participant.pk, site=participant.site_id, kinds=(LockKind.LOCK,))
        if lock is not None:
            raise ValidationError(lock_message(lock, "This casebook"))
        records = casebook_records(participant)
        digest = casebook_hash(records)
        current = active_signature(participant)
        if current and current.content_hash == digest:
            raise ValidationError("This casebook is already signed in this version.")
        if current:
            _void(ctx=ctx, signature=current, reason="Superseded by a new signature")
        user = ctx.user
        signature = CasebookSignature(
            participant=participant,
            signer=user,
            printed_name=user.get_full_name() or user.get_username(),
            meaning=meaning,
            signed_at=timezone.now(),
            content_hash=digest,
            records=[[r.resource, r.id, r.version] for r in records],
        )
        signature.full_clean()
        signature.save()
        write_entry(
            signature,
            ctx=ctx,
            action=AuditAction.SIGN,
            reason=signature.get_meaning_display(),
            changes={
                "content_hash": [None, digest],
                "records": [None, len(records)],
                "printed_name": [None, signature.printed_name],
            },
        )
    return signature


def _void(*, ctx: Any, signature: CasebookSignature, reason: str) -> None:
    signature.voided = True
    signature.voided_at = timezone.now()
    signature.void_reason = reason[:1000]
    signature.version += 1
    signature.save(update_fields=["voided", "voided_at", "void_reason", "version", "updated_at"])
    write_entry(
        signature,
        ctx=ctx,
        action=AuditAction.UNSIGN,
        changes={"voided": [False, True], "version": [signature.version - 1, signature.version]},
        reason=reason,
    )


def signature_on_write(
    instance: models.Model, *, action: str, changes: dict[str, list[Any]], ctx: Any, reason: str
) -> None:
    """Write-gate listener: any audited change of a record in a signed casebook voids the signature."""
    if not targets.is_clinical(instance):
        return
    ref = targets.participant_ref(instance)
    if ref is None:
        return
    live = list(CasebookSignature.objects.select_for_update().filter(participant_id=ref, voided=False))
    for signature in live:
        what = f"{instance._meta.verbose_name} {instance.pk} ({action})"
        _void(
            ctx=ctx, signature=signature, reason=f"Casebook changed after signing: {what}. {reason}".strip()
        )
