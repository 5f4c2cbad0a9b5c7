"""Writes for adverse events, SAE notifications and investigator signatures. Every write is audited.

The same `ae_create` / `ae_update` / `ae_change_grade` are called by the form, the API and the import
command, so the rules in `safety.rules` are enforced identically everywhere.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import lockout
from safety import partial_dates as pdates
from safety import rules, signing
from safety.models import AdverseEvent, AeSignature, CtcaeTerm, NotificationKind, Outcome, SaeNotification
from trial import access, duplicates
from trial.audit import AuditContext, audited_create, audited_update, snapshot, write_entry
from trial.models import AuditAction, Participant
from trial.selectors import reporting_window
from trial.site_time import site_today
from trial.versioning import lock_current

log = logging.getLogger(__name__)

# The fields a user enters (term is a CtcaeTerm); everything else is derived.
INPUT_FIELDS = (
    "term",
    "verbatim_term",
    "grade",
    "onset_date",
    "end_date",
    "ongoing",
    "serious",
    *(name for name, _ in rules.SAE_CRITERIA),
    "outcome",
    "death_date",
    "action_anti_pd1",
    "immune_related",
    "rel_tracer",
    "rel_pet",
    "rel_biopsy",
    "rel_anti_pd1",
    "description",
    "out_of_window_reason",
)
DEFAULTS: dict[str, Any] = {
    "verbatim_term": "",
    "end_date": "",
    "ongoing": False,
    "serious": False,
    "death_date": None,
    "immune_related": False,
    "description": "",
    "out_of_window_reason": "",
    **{name: False for name, _ in rules.SAE_CRITERIA},
}


def term_info(term: CtcaeTerm) -> rules.TermInfo:
    return rules.TermInfo(term.term, term.version, term.grade_texts, term.is_other_specify)


def _required(values: dict[str, Any]) -> dict[str, list[str]]:
    missing = [f for f in INPUT_FIELDS if f not in DEFAULTS and values.get(f) in (None, "")]
    return {f: ["This field is required."] for f in missing}


def validate(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    """Apply every AE rule; return the model field values to store, or raise ValidationError."""
    values = {**DEFAULTS, **{k: v for k, v in values.items() if k in INPUT_FIELDS}}
    for key in ("verbatim_term", "onset_date", "end_date", "description", "out_of_window_reason"):
        values[key] = (values.get(key) or "").strip()
    errors = _required(values)
    if errors:
        raise ValidationError(errors)
    term: CtcaeTerm = values["term"]
    rule_errors, flagged = rules.check_ae(
        values, term_info(term), reporting_window(participant), site_today(participant.site)
    )
    if rule_errors:
        raise ValidationError(rule_errors)
    onset = pdates.parse(values["onset_date"])
    end = pdates.parse(values["end_date"]) if values["end_date"] else None
    return {
        **values,
        "onset_date": onset.iso(),
        "onset_precision": onset.precision,
        "end_date": end.iso() if end else "",
        "end_precision": end.precision if end else "",
        "ctcae_version": term.version,
        "out_of_window": flagged,
        "out_of_window_reason": values["out_of_window_reason"] if flagged else "",
    }


def _queue_notification(ae: AdverseEvent, kind: str) -> SaeNotification:
    note = SaeNotification.objects.create(adverse_event=ae, kind=kind, queued_at=timezone.now())
    transaction.on_commit(lambda: _send_later(note.pk))
    return note


def _send_later(notification_id: int) -> None:
    """Hand the e-mail to Celery; a broker failure leaves the notification visibly unsent."""
    from safety.tasks import send_sae_notification

    try:
        send_sae_notification.delay(notification_id)
    except Exception:  # noqa: BLE001 - the unsent row stays on the dashboard
        log.exception("could not queue SAE notification %s", notification_id)


@transaction.atomic
def ae_create(
    *,
    ctx: AuditContext,
    participant: Participant,
    values: dict[str, Any],
    previous: AdverseEvent | None = None,
    reason: str = "",
    confirm_duplicate_reason: str = "",
) -> AdverseEvent:
    """Record a new AE (and queue the SAE e-mail if serious); voids the participant's AE signature.

    A live AE with the same term, onset date and grade is refused as a likely duplicate unless
    `confirm_duplicate_reason` says why it is not one (checked under the participant's row lock).
    """
    access.require(ctx.user, "adverse_events", participant.site_id)
    data = validate(participant, values)
    duplicates.lock_participant(participant)
    twin = likely_duplicate(participant, data)
    confirmed = duplicates.confirm_or_refuse(
        twin,
        what=f"{twin} (onset {twin.onset_date})" if twin else "",
        confirm_reason=confirm_duplicate_reason,
    )
    reason = "; ".join(r for r in (reason.strip(), confirmed) if r)
    ae = AdverseEvent(
        participant=participant,
        anti_pd1_drug=participant.planned_anti_pd1,
        previous=previous,
        sae_aware_at=timezone.now() if data["serious"] else None,
        **data,
    )
    audited_create(ae, ctx=ctx, reason=reason)
    if ae.serious:
        _queue_notification(
            ae, NotificationKind.FOLLOW_UP if previous and previous.serious else NotificationKind.INITIAL
        )
    signature_void_for(ctx=ctx, participant=participant, reason=f"AE {ae.pk} added after signing")
    return ae


def likely_duplicate(participant: Participant, data: dict[str, Any]) -> AdverseEvent | None:
    """A live AE of the participant with the same CTCAE term (and verbatim text), onset date and grade."""
    twins = AdverseEvent.objects.filter(
        participant=participant,
        voided=False,
        term=data["term"],
        onset_date=data["onset_date"],
        grade=data["grade"],
    )
    if data["term"].is_other_specify:
        twins = twins.filter(verbatim_term__iexact=data["verbatim_term"])
    return twins.order_by("id").first()


def current_values(ae: AdverseEvent) -> dict[str, Any]:
    return {f: getattr(ae, f) for f in INPUT_FIELDS}


@transaction.atomic
def ae_update(
    *,
    ctx: AuditContext,
    ae: AdverseEvent,
    values: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Edit an AE with a reason; a change of grade must go through `ae_change_grade`.

    The AE row is locked and re-read first; an edit based on an older `expected_version` is refused.
    """
    access.require(ctx.user, "adverse_events", ae.participant.site_id)
    _lock_signatures_of(ae.participant)  # lock order: participant, then the AE (as ae_create and signing)
    lock_current(ae, expected_version=expected_version)
    if ae.voided:
        raise ValidationError("This AE is voided; restore it before editing.")
    merged = {**current_values(ae), **values}
    if int(merged["grade"]) != ae.grade:
        raise ValidationError(
            {
                "grade": (
                    "A change of grade is recorded as a new AE record linked to this one: use 'Change grade' "
                    f"(this record stays grade {ae.grade})."
                )
            }
        )
    if merged["term"] != ae.term:
        raise ValidationError(
            {"term": "The term of a recorded AE cannot change: void it and record a new AE."}
        )
    data = validate(ae.participant, merged)
    was_serious = ae.serious
    if data["serious"] and not ae.sae_aware_at:
        data["sae_aware_at"] = timezone.now()
    changes = audited_update(ae, ctx=ctx, data=data, reason=reason)
    if changes:
        if ae.serious:
            _queue_notification(ae, NotificationKind.FOLLOW_UP if was_serious else NotificationKind.INITIAL)
        signature_void_for(ctx=ctx, participant=ae.participant, reason=f"AE {ae.pk} edited: {reason.strip()}")
    return changes


@transaction.atomic
def ae_change_grade(
    *,
    ctx: AuditContext,
    ae: AdverseEvent,
    values: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> AdverseEvent:
    """Close this record on the date the grade changed and open a new one, linked to it, at the new grade."""
    access.require(ctx.user, "adverse_events", ae.participant.site_id)
    _lock_signatures_of(ae.participant)  # lock order: participant, then the AE (as ae_create and signing)
    lock_current(ae, expected_version=expected_version)
    if not (reason or "").strip():
        raise ValidationError({"reason": "A reason is required for a change of grade."})
    if ae.voided or ae.next_records.filter(voided=False).exists():
        raise ValidationError("Only the latest, non-voided record of an AE can change grade.")
    new_values = {**current_values(ae), "end_date": "", "ongoing": True, "out_of_window_reason": "", **values}
    if int(new_values["grade"]) == ae.grade:
        raise ValidationError({"grade": f"The grade is still {ae.grade}: choose the new grade."})
    change_date = (new_values.get("onset_date") or "").strip()
    closing = {
        **current_values(ae),
        "end_date": change_date,
        "ongoing": False,
        "outcome": Outcome.RECOVERING if int(new_values["grade"]) < ae.grade else Outcome.NOT_RECOVERED,
    }
    try:
        closed = validate(ae.participant, closing)
    except ValidationError as exc:
        raise ValidationError(
            {"onset_date": [f"Date of the grade change: {m}" for m in exc.messages]}
        ) from exc
    audited_update(
        ae, ctx=ctx, data=closed, reason=f"Grade changed to {new_values['grade']}: {reason.strip()}"
    )
    return ae_create(
        ctx=ctx, participant=ae.participant, values=new_values, previous=ae, reason=reason.strip()
    )


def ae_course(ae: AdverseEvent) -> list[AdverseEvent]:
    """Every record of this AE's course, first to last (follows `previous` links both ways)."""
    first = ae
    while first.previous_id:
        first = first.previous
    course, current = [first], first
    while True:
        nxt = current.next_records.order_by("id").first()
        if nxt is None:
            return course
        course.append(nxt)
        current = nxt


# --- signatures -------------------------------------------------------------------------------------


def signed_content(participant: Participant) -> tuple[list[int], str]:
    """Ids and SHA-256 of the participant's current (non-voided) AEs."""
    aes = list(AdverseEvent.objects.filter(participant=participant, voided=False).order_by("id"))
    records = [{"id": ae.pk, **snapshot(ae)} for ae in aes]
    return [ae.pk for ae in aes], signing.content_hash(records)


def active_signature(participant: Participant) -> AeSignature | None:
    return AeSignature.objects.filter(participant=participant, voided=False).order_by("-signed_at").first()


def signature_is_intact(signature: AeSignature) -> bool:
    """The signed content still matches the AEs as they are now."""
    return signed_content(signature.participant)[1] == signature.content_hash


def aes_sign(*, ctx: AuditContext, participant: Participant, password: str, meaning: str) -> AeSignature:
    """Sign the participant's AEs: password re-entered, meaning stated, bound to a SHA-256 of the content.

    A wrong password counts as a failed login (outside the signing transaction, so it is kept), so
    guessing at the signature prompt locks the account like guessing at the login page.
    """
    access.require(ctx.user, "sign_adverse_events", participant.site_id)
    attempt = lockout.counted_attempt(
        ctx.user.get_username(), lambda: check_password(password or "", ctx.user.password), ctx.ip_address
    )
    if not attempt.checked:  # a locked account cannot sign, even with the right password
        raise ValidationError(
            {"password": f"{lockout.lock_message(attempt.locked_until)} The AEs were not signed."}
        )
    if not attempt.ok:
        raise ValidationError({"password": "The password is not correct; the AEs were not signed."})
    with transaction.atomic():
        return record_signature(ctx=ctx, participant=participant, meaning=meaning)


def _lock_signatures_of(participant: Participant) -> None:
    """Serialise signing and signature voiding per participant (the participant row lock)."""
    Participant.objects.select_for_update().filter(pk=participant.pk).values_list("pk", flat=True).first()


def record_signature(*, ctx: AuditContext, participant: Participant, meaning: str) -> AeSignature:
    """Store the signature after the signer is authenticated (by `aes_sign`).

    Content and the live signature are read under the participant's row lock, so two signings of the
    same content at the same time leave one live signature (the second is refused).
    """
    from safety.models import SignatureMeaning

    if meaning not in SignatureMeaning.values:
        raise ValidationError({"meaning": "Choose the meaning of the signature."})
    _lock_signatures_of(participant)
    ids, digest = signed_content(participant)
    if not ids:
        raise ValidationError("There are no AEs to sign for this participant.")
    current = active_signature(participant)
    if current and current.content_hash == digest:
        raise ValidationError("These AEs are already signed in this version.")
    if current:
        _void_signature(ctx=ctx, signature=current, reason="Superseded by a new signature")
    user = ctx.user
    signature = AeSignature(
        participant=participant,
        signer=user,
        printed_name=user.get_full_name() or user.get_username(),
        meaning=meaning,
        signed_at=timezone.now(),
        content_hash=digest,
        adverse_event_ids=ids,
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
            "adverse_event_ids": [None, ids],
            "printed_name": [None, signature.printed_name],
        },
    )
    return signature


def _void_signature(*, ctx: AuditContext, signature: AeSignature, reason: str) -> bool:
    """Void a live signature (row locked, version raised, audited); False if it was voided meanwhile."""
    lock_current(signature)
    if signature.voided:
        return False
    signature.voided = True
    signature.voided_at = timezone.now()
    signature.void_reason = reason
    changes = {"voided": [False, True], "version": [signature.version, signature.version + 1]}
    signature.version += 1
    signature.save(update_fields=["voided", "voided_at", "void_reason", "version", "updated_at"])
    write_entry(signature, ctx=ctx, action=AuditAction.UNSIGN, changes=changes, reason=reason)
    return True


def signature_void_for(*, ctx: AuditContext, participant: Participant, reason: str) -> int:
    """Void the participant's active AE signature(s) because the signed content changed (audited)."""
    _lock_signatures_of(participant)
    count = 0
    for signature in AeSignature.objects.select_for_update().filter(participant=participant, voided=False):
        count += _void_signature(ctx=ctx, signature=signature, reason=reason)
    return count


def on_ae_void_or_restore(*, ctx: AuditContext, instance: AdverseEvent) -> None:
    """VOID_HOOKS entry: voiding or restoring an AE from the generic page voids the signature."""
    verb = "voided" if instance.voided else "restored"
    signature_void_for(ctx=ctx, participant=instance.participant, reason=f"AE {instance.pk} {verb}")


# --- SAE notification (worker side) -----------------------------------------------------------------


def notification_recipients(ae: AdverseEvent) -> list[str]:
    from django.conf import settings

    from trial.models import Membership, Role

    site = ae.participant.site
    emails = [settings.SPONSOR_SAFETY_EMAIL, site.investigator_email]
    emails += list(
        Membership.objects.filter(site=site, role=Role.INVESTIGATOR, active=True, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    seen: list[str] = []
    for e in emails:
        if e and e.lower() not in {s.lower() for s in seen}:
            seen.append(e)
    return seen


def sae_message(ae: AdverseEvent, kind: str) -> tuple[str, str]:
    """Subject and body of the SAE e-mail (no direct identifiers: study id only)."""
    p = ae.participant
    label = NotificationKind(kind).label
    subject = f"[CD8-PET] {label}: {p.study_id} {ae.display_term} grade {ae.grade}"
    deadline = ae.sae_aware_at + dt.timedelta(hours=24) if ae.sae_aware_at else None
    lines = [
        f"{label} for participant {p.study_id} at site {p.site.code}.",
        f"Term (CTCAE v{ae.ctcae_version}): {ae.display_term} [MedDRA {ae.term.meddra_code}, {ae.term.soc}]",
        f"Grade {ae.grade}: {ae.grade_text}",
        f"Onset: {ae.onset_date}   End: {ae.end_date or ('ongoing' if ae.ongoing else '-')}",
        f"Seriousness criteria: {', '.join(ae.sae_criteria)}",
        f"Outcome: {ae.get_outcome_display()}   Action with {ae.get_anti_pd1_drug_display()}: {ae.get_action_anti_pd1_display()}",
        f"Immune-related: {'yes' if ae.immune_related else 'no'}",
        f"Relatedness: tracer {ae.rel_tracer}, PET {ae.rel_pet}, biopsy {ae.rel_biopsy}, "
        f"{ae.get_anti_pd1_drug_display()} {ae.rel_anti_pd1}",
        f"Site aware (UTC): {ae.sae_aware_at:%Y-%m-%d %H:%M}" if ae.sae_aware_at else "",
        f"24-hour reporting deadline (UTC): {deadline:%Y-%m-%d %H:%M}" if deadline else "",
        "",
        ae.description,
    ]
    return subject, "\n".join(line for line in lines if line is not None)


def notification_mark_attempt(
    *, notification_id: int, error: str, gave_up: bool, recipients: list[str]
) -> None:
    now = timezone.now()
    note = SaeNotification.objects.select_for_update().get(pk=notification_id)
    note.attempts += 1
    note.last_attempt_at = now
    note.recipients = recipients
    if error:
        note.last_error = error[:2000]
        note.gave_up = gave_up
    else:
        note.sent_at = now
        note.gave_up = False
    note.save()
    ctx = AuditContext.system(source="worker")
    write_entry(
        note.adverse_event,
        ctx=ctx,
        action=AuditAction.UPDATE,
        changes={"sae_notification": [note.kind, "sent" if not error else f"failed: {error[:200]}"]},
        reason=f"SAE e-mail attempt {note.attempts} to {', '.join(recipients)}",
    )


def notification_requeue(*, ctx: AuditContext, notification: SaeNotification) -> None:
    """Send a failed notification again (from the dashboard)."""
    access.require(ctx.user, "adverse_events", notification.adverse_event.participant.site_id)
    if notification.sent_at:
        raise ValidationError("This notification was already sent.")
    SaeNotification.objects.filter(pk=notification.pk).update(gave_up=False)
    transaction.on_commit(lambda: _send_later(notification.pk))
