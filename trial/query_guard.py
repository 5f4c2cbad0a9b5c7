"""Refuse query parameters no filter can use (NUL bytes, undecodable text) before any view runs.

PostgreSQL text cannot hold NUL, so such a value would fail deep inside a query (a 500, or a cut CSV
stream). The API answers 400 problem details naming the parameter; pages answer the 400 error page with
the same message. Values a filter can read but not accept (dates, ids, choices) are checked by each view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from trial.api_errors import VALIDATION_DETAIL, problem_response

NUL_MESSAGE = "Null characters are not allowed."
UNDECODABLE_MESSAGE = "Not valid UTF-8 text."


def query_errors(request: HttpRequest) -> dict[str, list[str]]:
    """{parameter: [message]} for every query parameter (name or value) that no filter can use."""
    errors: dict[str, list[str]] = {}
    for name, values in request.GET.lists():
        for value in [name, *values]:
            if "\x00" in value:
                errors[name.replace("\x00", "\\x00")] = [NUL_MESSAGE]
            elif any("\udc80" <= ch <= "\udcff" for ch in value) or "\ufffd" in value:
                errors[name] = [UNDECODABLE_MESSAGE]
    return errors


def error_page(request: HttpRequest, errors: dict[str, list[str]]) -> HttpResponse:
    """The 400 error page listing each bad parameter and its message."""
    detail = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
    context = {
        "title": "Bad request",
        "detail": detail,
        "request_id": getattr(request, "request_id", ""),
        "status": 400,
    }
    return HttpResponse(render_to_string("error.html", context), status=400)


def refuse_bad_choices(request: HttpRequest, **allowed: Iterable[str]) -> HttpResponse | None:
    """A 400 page when a GET filter holds a value outside its choices (`drug=AntiPD1Drug.values`), else None."""
    errors = {}
    for name, values in allowed.items():
        value, choices = request.GET.get(name, ""), [str(v) for v in values]
        if value and value not in choices:
            errors[name] = [f"{value!r} is not one of: {', '.join(choices)}."]
    return error_page(request, errors) if errors else None


class QueryGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        errors = query_errors(request)
        if not errors:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return problem_response(400, VALIDATION_DETAIL, errors)
        return error_page(request, errors)
