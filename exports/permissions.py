"""API permissions and throttling for tokens.

`ReadOnlyTokenRefusesWrites` refuses every unsafe method (403) to a read-only token and to any principal
whose roles are read-only (sponsor, monitor). Apply it to any write endpoint.
"""

from __future__ import annotations

import os

from rest_framework import authentication, permissions, throttling

from trial import access, api_auth
from trial.client_ip import client_ip
from trial.models import ApiToken, Role

READ_ONLY_ROLES = frozenset({Role.SPONSOR, Role.MONITOR})


def token_of(request) -> ApiToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def has_only_read_roles(user) -> bool:
    """True for users whose active roles are all read-only (sponsor, monitor) and who are not superusers."""
    if getattr(user, "is_superuser", False):
        return False
    roles = access.all_roles(user)
    return not roles or roles <= READ_ONLY_ROLES or Role.SPONSOR in roles


class NonSponsorWrites(permissions.BasePermission):
    """Reads for everyone signed in; writes refused to read-only tokens and to sponsor-only users.

    For the monitoring APIs (queries, SDV marks, locks), where a monitor writes although the clinical API treats
    the role as read-only; which role may do what at which site is the services' rule.
    """

    message = "This token or role is read-only."

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        token = token_of(request)
        if token is not None and token.read_only:
            return False
        roles = access.all_roles(request.user)
        return bool(request.user.is_superuser or (roles - {Role.SPONSOR}))


class ReadOnlyTokenRefusesWrites(permissions.BasePermission):
    message = "This token is read-only: it cannot change data."

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        token = token_of(request)
        if token is not None and token.read_only:
            return False
        if has_only_read_roles(request.user):
            self.message = "Your role is read-only: it cannot change data."
            return False
        return True


class IsDataManager(permissions.BasePermission):
    message = "Only a data manager can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.is_superuser or Role.DATA_MANAGER in access.all_roles(user))
        )


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """Per-token rate (per-user for session callers); `API_TOKEN_THROTTLE`, e.g. "5000/hour"."""

    scope = "export_token"
    rate_setting = "API_TOKEN_THROTTLE"

    def get_rate(self) -> str:
        return os.environ.get(self.rate_setting, "5000/hour")

    def get_cache_key(self, request, view) -> str | None:
        token = token_of(request)
        if token is not None:
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def get_ident(self, request) -> str:
        """The client address by the trusted-proxy rule (DRF's own would believe any X-Forwarded-For)."""
        return client_ip(request) or ""


API_PERMISSIONS = [permissions.IsAuthenticated, ReadOnlyTokenRefusesWrites]
API_THROTTLES = [TokenRateThrottle]

# Token first so that a missing or revoked token answers 401 with "WWW-Authenticate: Token".
API_AUTHENTICATION = [api_auth.HashedTokenAuthentication, authentication.SessionAuthentication]
