"""Stop duplicate creates: the `Idempotency-Key` header of the API and the one-time token of create forms.

Both claim a row of `IdempotencyKey` (unique per user and key) with an INSERT in the same transaction as
the create, so the key and the record are committed together or not at all. A second request with the same
key blocks on that INSERT while the first is in flight; once the first commits it gets the stored answer
(the API response, or the page the form led to). After `IDEMPOTENCY_LOCK_TIMEOUT_SECONDS` of waiting it is
refused with 409 instead. Only successful creates are remembered: a refused request stores nothing, so
the same key may be sent again. Keys are not clinical data: `purge_idempotency_keys` deletes old ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from trial.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
FORM_METHOD = "FORM"
FORM_TOKEN_FIELD = "form_token"
MAX_KEY_LENGTH = 255
_FORM_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional unique key (e.g. a UUID) making this create safe to retry (draft-ietf-httpapi-idempotency-"
        "key-header). Sending the same key again with the same method, path and body returns the first "
        "response with `Idempotent-Replayed: true` and creates nothing more; the same key with another body "
        "or path is refused with 422; a retry while the first request is still being processed waits for "
        "it, or gets 409 if it takes too long. Keys are kept at least 24 hours."
    ),
)


class KeyReused(exceptions.APIException):
    status_code = 422
    default_code = "idempotency_key_reused"


class KeyInFlight(exceptions.APIException):
    status_code = 409
    default_code = "idempotency_key_in_flight"
    default_detail = (
        "A request with this Idempotency-Key is still being processed; retry in a moment to get its response."
    )


def _lock_timeout_ms() -> int:
    return int(float(getattr(settings, "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", 10)) * 1000)


def _set_lock_timeout(value: str) -> None:
    """Bound how long the INSERT waits for an in-flight request holding the same key (PostgreSQL only)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [value])


def _claim(row: IdempotencyKey) -> IdempotencyKey | None:
    """INSERT the key in the current transaction; return the committed earlier row instead if there is one.

    Raises `KeyInFlight` when the earlier request holding the key does not finish within the lock timeout.
    """
    try:
        with transaction.atomic():
            _set_lock_timeout(f"{_lock_timeout_ms()}ms")
            row.save(force_insert=True)
            _set_lock_timeout("0")
            return None
    except IntegrityError:
        pass
    except OperationalError as exc:
        raise KeyInFlight() from exc
    earlier = IdempotencyKey.objects.filter(user=row.user, key=row.key).first()
    if earlier is None or earlier.status_code is None:
        raise KeyInFlight()
    return earlier


# --- API -------------------------------------------------------------------------------------------------


def _request_key(request: Any) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise serializers.ValidationError(
            {HEADER: [f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable characters."]}
        )
    return key


def _body_sha256(request: Any) -> str:
    """SHA-256 of the raw request body (or of the parsed data, if something read the stream already)."""
    try:
        body = request._request.body
    except RawPostDataException:
        body = JSONRenderer().render(request.data, renderer_context={"indent": None})
    return hashlib.sha256(body).hexdigest()


def _replay(earlier: IdempotencyKey, request: Any, body_sha256: str) -> HttpResponse:
    if (earlier.method, earlier.path) != (request.method, request.get_full_path()):
        raise KeyReused(
            f"This {HEADER} was already used for {earlier.method} {earlier.path}; use a new key for a new request."
        )
    if earlier.body_sha256 != body_sha256:
        raise KeyReused(
            f"This {HEADER} was already used with a different request body; use a new key for a new request."
        )
    response = HttpResponse(
        bytes(earlier.response_body), status=earlier.status_code, content_type=earlier.response_content_type
    )
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(view_method: Callable[..., Response]) -> Callable[..., HttpResponse]:
    """Make a DRF create honour the `Idempotency-Key` header (the view's own transaction holds the key)."""

    @wraps(view_method)
    def wrapper(self: Any, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        key = _request_key(request)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        body_sha256 = _body_sha256(request)
        row = IdempotencyKey(
            user=request.user,
            key=key,
            method=request.method,
            path=request.get_full_path()[:500],
            body_sha256=body_sha256,
        )
        with transaction.atomic():
            earlier = _claim(row)
            if earlier is not None:
                return _replay(earlier, request, body_sha256)
            response = view_method(self, request, *args, **kwargs)
            if not 200 <= response.status_code < 300 or not isinstance(response, Response):
                transaction.set_rollback(True)
                return response
            row.status_code = response.status_code
            row.response_body = JSONRenderer().render(response.data)
            row.response_content_type = "application/json"
            row.save(update_fields=["status_code", "response_body", "response_content_type"])
        return response

    return wrapper


# --- pages -----------------------------------------------------------------------------------------------


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def posted_form_token(request: HttpRequest) -> str | None:
    """The form's one-time token if it was posted and well-formed (anything else is ignored)."""
    token = (request.POST.get(FORM_TOKEN_FIELD) or "").strip()
    return token if _FORM_TOKEN_RE.match(token) else None


def form_token_for(request: HttpRequest) -> str:
    """The token to put in a rendered form: the posted one when re-showing a refused form, else a new one."""
    if request.method == "POST":
        token = posted_form_token(request)
        if token:
            return token
    return new_form_token()


ALREADY_SAVED = "This form was already saved; nothing was recorded twice."
STILL_SAVING = "This form is still being saved; check the record in a moment before entering it again."


@dataclass(frozen=True)
class FormOutcome:
    """What a create form's POST did: saved now (`replayed` False) or an earlier POST of the same form did."""

    result: Any
    url: str
    replayed: bool = False
    message: str = ""


def submit_once(request: HttpRequest, save: Callable[[], Any], url_for: Callable[[Any], str]) -> FormOutcome:
    """Run a create form's `save()` at most once per one-time form token; a replay returns the first page.

    Without a token (an old page or a script) the form is saved as before.
    """
    token = posted_form_token(request)
    if token is None:
        result = save()
        return FormOutcome(result, url_for(result))
    row = IdempotencyKey(
        user=request.user,
        key=token,
        method=FORM_METHOD,
        path=request.path[:500],
        body_sha256=hashlib.sha256(token.encode()).hexdigest(),
    )
    with transaction.atomic():
        try:
            earlier = _claim(row)
        except KeyInFlight:
            return FormOutcome(None, request.path, replayed=True, message=STILL_SAVING)
        if earlier is not None:
            url = bytes(earlier.response_body).decode() or request.path
            return FormOutcome(None, url, replayed=True, message=ALREADY_SAVED)
        result = save()
        url = url_for(result)
        row.status_code = 302
        row.response_body = url.encode()
        row.response_content_type = "text/uri-list"
        row.save(update_fields=["status_code", "response_body", "response_content_type"])
    return FormOutcome(result, url)


# --- housekeeping ----------------------------------------------------------------------------------------


def ttl_hours() -> int:
    """How long keys are kept (at least 24 hours, whatever the setting says)."""
    return max(24, int(getattr(settings, "IDEMPOTENCY_KEY_TTL_HOURS", 48)))


def purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete keys older than the TTL; returns how many went. Keys are not clinical data."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=ttl_hours())
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
