"""Login lockout counted per account: failures within the window since the account's last login."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UsernameField
from django.db import connection, transaction
from django.utils import timezone

from trial.models import LoginFailure


def normalise(raw: str) -> str:
    """The user name as Django's login form reads it (stripped, NFKC)."""
    return UsernameField().to_python(raw or "") or ""


def resolve_user(raw: str) -> Any | None:
    """The account a typed user name reaches: exact natural key first, then a unique case-insensitive match."""
    name = normalise(raw)
    if not name:
        return None
    user_model = get_user_model()
    try:
        return user_model._default_manager.get_by_natural_key(name)
    except user_model.DoesNotExist:
        matches = list(
            user_model._default_manager.filter(**{f"{user_model.USERNAME_FIELD}__iexact": name})[:2]
        )
        return matches[0] if len(matches) == 1 else None


def canonical_username(raw: str) -> str:
    """The name failures are counted under: the account's own user name, else the normalised text."""
    user = resolve_user(raw)
    return user.get_username() if user is not None else normalise(raw)


def _window_start(username: str) -> dt.datetime:
    since = timezone.now() - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    user = resolve_user(username)
    last_login = getattr(user, "last_login", None)
    return max(since, last_login) if last_login else since


def locked_until(raw: str) -> dt.datetime | None:
    """When the account's lock ends, or None when it is not locked."""
    username = canonical_username(raw)
    if not username:
        return None
    limit = settings.LOGIN_LOCKOUT_FAILURES
    recent = list(
        LoginFailure.objects.filter(username=username, at__gte=_window_start(username))
        .order_by("-at")
        .values_list("at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return None
    return recent[-1] + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def is_locked(raw: str) -> bool:
    return locked_until(raw) is not None


def lock_message(until: dt.datetime) -> str:
    return (
        "This account is locked after repeated failed logins until "
        f"{until.astimezone(dt.UTC):%H:%M} UTC; try again later."
    )


def record_failure(raw: str, ip_address: str | None) -> LoginFailure | None:
    """Count a failed attempt under the canonical user name (nothing for an empty name)."""
    username = canonical_username(raw)
    if not username:
        return None
    return LoginFailure.objects.create(username=username[:150], ip_address=ip_address)


@contextmanager
def serialised(raw: str) -> Iterator[None]:
    """Check one attempt per account at a time (a PostgreSQL advisory lock held to commit).

    Without it, parallel guesses all pass the lock check before any failure is stored.
    """
    username = canonical_username(raw)
    if not username or connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"cd8pet-login:{username}"])
        yield


@dataclass(frozen=True)
class Attempt:
    checked: bool  # False: refused unchecked because the account is locked
    ok: bool
    locked_until: dt.datetime | None


def counted_attempt(raw: str, check: Callable[[], bool], ip_address: str | None) -> Attempt:
    """Run one credential check unless the account is locked; a failed check is counted (per account, serialised)."""
    with serialised(raw):
        until = locked_until(raw)
        if until is not None:
            return Attempt(checked=False, ok=False, locked_until=until)
        if check():
            return Attempt(checked=True, ok=True, locked_until=None)
        record_failure(raw, ip_address)
        return Attempt(checked=True, ok=False, locked_until=locked_until(raw))
