"""One error shape for the whole API: RFC 9457 problem details (`application/problem+json`).

Every error body is `{"type", "title", "status", "detail", "errors"}`; `errors` maps a field (query
parameter or body field; `non_field_errors` for the rest) to its messages and is empty when no field is at
fault. Other members of an exception's dict detail (e.g. a 409's `current_version`) are extension members. `problem_exception_handler` (DRF's EXCEPTION_HANDLER) renders any APIException (and a service
ValidationError) this way; `problem_response` gives the same body outside DRF (middleware, error pages).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler

from trial.write_gate import RecordLocked

PROBLEM_CONTENT_TYPE = "application/problem+json"
VALIDATION_DETAIL = "One or more fields are invalid; see errors."


class Locked(exceptions.APIException):
    """HTTP 423: the record, casebook, site or study is frozen or locked; nothing was written."""

    status_code = 423
    default_detail = "The data is locked; nothing was written."
    default_code = "locked"


def as_drf_error(exc: ValidationError) -> exceptions.APIException:
    """Turn a service ValidationError into DRF's 400 with field errors (a lock refusal into a 423)."""
    if isinstance(exc, RecordLocked):
        return Locked(exc.message_text)
    if hasattr(exc, "error_dict"):
        detail = {
            ("non_field_errors" if k == NON_FIELD_ERRORS else k): v for k, v in exc.message_dict.items()
        }
        return serializers.ValidationError(detail)
    return serializers.ValidationError({"non_field_errors": exc.messages})


def problem(status: int, detail: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    """The problem-details body of an error."""
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "errors": errors or {},
    }


def problem_response(status: int, detail: str, errors: dict[str, Any] | None = None) -> JsonResponse:
    """A plain Django response with the problem-details body (for code outside DRF views)."""
    return JsonResponse(problem(status, detail, errors), status=status, content_type=PROBLEM_CONTENT_TYPE)


def _body(exc: exceptions.APIException, status: int, data: Any) -> dict[str, Any]:
    """Validation errors go to `errors`; other members of a dict detail (409 conflict data) are extensions."""
    if isinstance(exc, exceptions.ValidationError):
        return problem(
            status, VALIDATION_DETAIL, data if isinstance(data, dict) else {"non_field_errors": data}
        )
    if isinstance(data, dict):
        extra = {k: v for k, v in data.items() if k not in {"type", "title", "status", "errors"}}
        detail = str(extra.pop("detail", "") or HTTPStatus(status).phrase)
        return {**extra, **problem(status, detail)}
    return problem(status, str(data))


def problem_exception_handler(exc: Exception, context: dict) -> Any:
    """DRF EXCEPTION_HANDLER: DRF's handling (headers, status), then the body as problem details."""
    if isinstance(exc, ValidationError):
        exc = as_drf_error(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    response.data = _body(exc, response.status_code, response.data)
    response.content_type = PROBLEM_CONTENT_TYPE
    _render_as_json(context.get("request"))
    return response


def _render_as_json(request: Any) -> None:
    """An error asked for as CSV (or another format) is still rendered as JSON problem details."""
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is not None and getattr(renderer, "format", "json") != "json":
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE
