"""Token authentication with hashed, revocable per-user tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone
from rest_framework import authentication, exceptions

from trial import audit_events
from trial.models import ApiToken, TokenScope

EXPORT_PREFIX = "/api/v1/export/"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)


def required_scope(path: str) -> TokenScope:
    """The scope an API path needs: export under /api/v1/export/, capture everywhere else."""
    return TokenScope.EXPORT if path.startswith(EXPORT_PREFIX) else TokenScope.CAPTURE


class HashedTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"
    keywords = (b"token", b"bearer")  # "Authorization: Token <key>" or "Authorization: Bearer <key>"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        key = header[1].decode(errors="replace")
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
        if token is None or token.revoked_at is not None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                f"Token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; ask a data manager for a new one."
            )
        needed = required_scope(request.path)
        if needed not in token.scopes:
            raise exceptions.PermissionDenied(
                f"This token's scopes ({', '.join(token.scopes)}) do not include {needed.value!r}, "
                f"which {request.path} needs."
            )
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        audit_events.token_used(request, token)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
