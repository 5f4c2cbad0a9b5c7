"""TOTP second factor (django-otp): who may or must use it, and the verify step after a password login."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import django_otp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from trial.access import all_roles
from trial.models import Role

# Roles that sign or manage access may enrol a device; "admin" names superusers and staff.
ELIGIBLE_ROLES = frozenset({Role.INVESTIGATOR, Role.DATA_MANAGER, "admin"})
PENDING_KEY = "accounts_otp_pending"
# Set at login when the account has a device: the middleware then needs no query per request.
NEEDS_CODE_KEY = "accounts_otp_needs_code"
PENDING_MINUTES = 5


def user_roles(user: Any) -> set[str]:
    roles = set(all_roles(user))
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        roles.add("admin")
    return roles


def required_roles() -> frozenset[str]:
    return frozenset(settings.OTP_REQUIRED_ROLES)


def is_required(user: Any) -> bool:
    """True when a role the user holds is listed in OTP_REQUIRED_ROLES."""
    required = required_roles()
    return bool(required and user_roles(user) & required)


def is_eligible(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user_roles(user) & (ELIGIBLE_ROLES | required_roles()))


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def has_confirmed_device(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def qr_svg(uri: str, size_px: int = 220) -> str:
    """The URI as an inline SVG QR code (one <path>, so it draws inside HTML), size_px wide."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    out = io.BytesIO()
    qrcode.make(uri, image_factory=SvgPathImage, border=2).save(out)
    svg = out.getvalue().decode("utf-8")
    svg = svg[svg.find("<svg") :]
    # Replace the physical size (mm) by pixels; the viewBox keeps the modules square.
    return re.sub(r'width="[^"]+" height="[^"]+"', f'width="{size_px}" height="{size_px}"', svg, count=1)


def begin_verification(request: HttpRequest, user: Any, next_url: str) -> None:
    """Remember who passed the password step; they are logged in only after a valid code."""
    request.session[PENDING_KEY] = {
        "user_id": user.pk,
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
        "next": next_url,
        "at": timezone.now().isoformat(),
    }


def pending(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    """The user waiting for the second factor and the pending data, or None (none or expired)."""
    data = request.session.get(PENDING_KEY)
    if not data:
        return None
    started = dt.datetime.fromisoformat(data["at"])
    if timezone.now() - started > dt.timedelta(minutes=PENDING_MINUTES):
        request.session.pop(PENDING_KEY, None)
        return None
    user = get_user_model()._default_manager.filter(pk=data["user_id"], is_active=True).first()
    return (user, data) if user is not None else None


def complete_login(request: HttpRequest, user: Any, device: TOTPDevice, data: dict[str, Any]) -> None:
    """Log the user in and mark the session as verified by the device."""
    request.session.pop(PENDING_KEY, None)
    auth_login(request, user, backend=data["backend"])
    django_otp.login(request, device)
    request.session.pop(NEEDS_CODE_KEY, None)


def mark_session_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """user_logged_in receiver: remember whether this account must still give a code (one query per login)."""
    if request is not None and hasattr(request, "session") and has_confirmed_device(user):
        request.session[NEEDS_CODE_KEY] = True


def cancel(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)
