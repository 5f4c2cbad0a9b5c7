"""Optimistic locking over the API: ETag on detail GET, If-Match or `version` on PUT/PATCH, 409 when stale."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from trial.api_errors import Locked, as_drf_error
from trial.versioning import VersionConflict
from trial.write_gate import RecordLocked

ETAG = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')

IF_MATCH_DESCRIPTION = (
    'If-Match is recommended: send the ETag of the detail GET (W/"<version>"), or a `version` field in the '
    "body. Then an edit based on an older version is refused with 409 Conflict (problem details naming the "
    "current version and what changed since) instead of silently overwriting another user's change. "
    "Without either, the edit applies to the record as it is now."
)

IF_MATCH_PARAMETER = OpenApiParameter(
    name="If-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=IF_MATCH_DESCRIPTION,
)

ETAG_HEADER = OpenApiParameter(
    name="ETag",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200],
    description='The record\'s version, W/"<version>"; send it back as If-Match when editing.',
)

_CONFLICT_DETAILS = {
    "expected_version": serializers.IntegerField(required=False, help_text="The version you sent."),
    "current_version": serializers.IntegerField(required=False, help_text="The record's version now."),
    "changed_fields": serializers.ListField(child=serializers.CharField(), required=False),
    "changes": serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="Each audited change since: version, action, by, at, fields {name: [old, new]}, reason.",
    ),
}

CONFLICT_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        name="VersionConflictProblem",
        fields={
            "type": serializers.CharField(),
            "title": serializers.CharField(help_text="Conflict"),
            "status": serializers.IntegerField(help_text="409"),
            "detail": serializers.CharField(
                help_text="What changed since the version you read, by whom, when."
            ),
            "errors": inline_serializer(
                name="VersionConflictDetails", fields=_CONFLICT_DETAILS, required=False
            ),
        },
    ),
    description=(
        "Problem details: the record changed since the version named by If-Match or `version`; nothing was "
        "written. The body names the current version and the fields changed since. Read the record again "
        "(its ETag is the new version) and re-apply your edit."
    ),
)

# For `extend_schema(responses={..., **CONFLICT_RESPONSES})`: the 409 in both media types the API renders.
CONFLICT_RESPONSES = {
    (409, media): CONFLICT_RESPONSE for media in ("application/json", "application/problem+json")
}


class Conflict(APIException):
    """HTTP 409: the edit was based on an older version of the record."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The record changed since you read it; nothing was written."
    default_code = "conflict"

    def __init__(self, conflict: VersionConflict | None = None) -> None:
        super().__init__()
        if conflict is not None:
            self.detail = conflict.as_dict()
            self.current_version = conflict.current_version


class BadIfMatch(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_if_match"
    default_detail = 'If-Match must be the ETag of the record, W/"<version>" (one value).'


def etag(instance: Any) -> str:
    return f'W/"{instance.version}"'


def with_etag(response: Response, instance: Any) -> Response:
    response["ETag"] = etag(instance)
    return response


def expected_version(request: Request) -> int | None:
    """The version the client read: If-Match header first, else a `version` field in the body (None: neither)."""
    header = request.headers.get("If-Match")
    if header is not None:
        match = ETAG.match(header)
        if match is None:
            raise BadIfMatch()
        return int(match.group(1))
    data = request.data if hasattr(request.data, "get") else {}
    body = data.get("version")
    if body in (None, ""):
        return None
    if isinstance(body, bool) or not re.fullmatch(r"\d{1,9}", str(body).strip()) or int(body) < 1:
        raise serializers.ValidationError({"version": ["The version must be a whole number from 1."]})
    return int(body)


class VersionETagMixin:
    """For a viewset: the detail GET carries the record's version as a weak ETag (If-Match when editing)."""

    @extend_schema(parameters=[ETAG_HEADER])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        response = Response(self.get_serializer(instance).data)
        return with_etag(response, instance) if hasattr(instance, "version") else response


@contextmanager
def service_refusals() -> Iterator[None]:
    """Service refusals as API errors: a stale version is a 409, any other rule a 400 naming the fields."""
    try:
        yield
    except VersionConflict as exc:
        raise Conflict(exc) from exc
    except RecordLocked as exc:
        raise Locked(exc.message_text) from exc
    except ValidationError as exc:
        raise as_drf_error(exc) from exc
