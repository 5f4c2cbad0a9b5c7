"""Error pages that never show a stack trace or exception text to a user."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from trial.api_errors import PROBLEM_CONTENT_TYPE, problem


def _respond(request: HttpRequest, status: int, title: str, detail: str) -> HttpResponse:
    rid = getattr(request, "request_id", "")
    if request.path.startswith("/api/"):  # the API's one error shape: problem details (trial/api_errors.py)
        body = {**problem(status, detail), "request_id": rid}
        return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    html = render_to_string(
        "error.html", {"title": title, "detail": detail, "request_id": rid, "status": status}
    )
    return HttpResponse(html, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _respond(request, 400, "Bad request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else "You do not have permission for this."
    return _respond(request, 403, "Not allowed", message)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _respond(request, 404, "Not found", "This page does not exist or you do not have access to it.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _respond(
        request,
        500,
        "Something went wrong",
        "The error has been logged. Quote the request id to the data management team.",
    )
