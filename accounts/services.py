"""Audited account changes: password changed or reset, TOTP device enrolled or removed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import lockout, otp
from trial.audit import AuditContext, write_entry
from trial.models import AuditAction


def password_changed(*, ctx: AuditContext, user: Any, reason: str) -> None:
    """Audit a new password (never its hash)."""
    write_entry(
        user, ctx=ctx, action=AuditAction.ACCOUNT, changes={"password": ["(old)", "(new)"]}, reason=reason
    )


@transaction.atomic
def totp_device_start(*, user: Any) -> TOTPDevice:
    """The user's unconfirmed device (a fresh key each time enrolment is opened without one)."""
    if not otp.is_eligible(user):
        raise ValidationError("Two-factor authentication is for investigators, data managers and admins.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def totp_device_confirm(*, ctx: AuditContext, device: TOTPDevice, token: str) -> TOTPDevice:
    """Confirm an enrolment with a first valid code; other devices of the user are removed."""
    if not device.verify_token((token or "").strip()):
        raise ValidationError(
            {"token": "The code is not correct; check the time on your phone and try again."}
        )
    previous = otp.confirmed_device(device.user)
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    write_entry(
        device.user,
        ctx=ctx,
        action=AuditAction.ACCOUNT,
        changes={"totp_device": [previous.persistent_id if previous else None, device.persistent_id]},
        reason="Two-factor authentication (TOTP) enrolled",
    )
    return device


def totp_device_remove(*, ctx: AuditContext, user: Any, password: str, token: str) -> None:
    """The user switches their own second factor off: password and a current code again, never where required.

    A wrong password or code counts towards the account's lockout, as at login; a role listed in
    OTP_REQUIRED_ROLES cannot switch it off (moving it to a new phone is re-enrolment instead).
    """
    device = otp.confirmed_device(user)
    if device is None:
        raise ValidationError("Two-factor authentication is not on for this account.")
    if otp.is_required(user):
        raise ValidationError(
            "Your role requires two-factor authentication: it cannot be switched off. To use a new phone,"
            " set it up again on this page."
        )
    token = (token or "").strip()
    attempt = lockout.counted_attempt(
        user.get_username(),
        lambda: user.check_password(password or "") and device.verify_token(token),
        ctx.ip_address,
    )
    if not attempt.checked:
        raise ValidationError(lockout.lock_message(attempt.locked_until))
    if not attempt.ok:  # the counted failure is committed: it must survive this refusal
        raise ValidationError({"token": "The password or the code is not correct."})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        write_entry(
            user,
            ctx=ctx,
            action=AuditAction.ACCOUNT,
            changes={"totp_device": [device.persistent_id, None]},
            reason="Two-factor authentication (TOTP) switched off by the user",
        )
