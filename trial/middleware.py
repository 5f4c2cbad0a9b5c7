"""Request id for log correlation, and login required everywhere except login and health."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from trial.logging import request_id_var

logger = logging.getLogger("cd8pet.request")

PUBLIC_PREFIXES = (
    "/accounts/login/",
    "/accounts/password/reset/",
    "/accounts/reset/",
    "/accounts/two-factor/verify/",
    "/health/",
    "/static/",
)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = (
            incoming if incoming and len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex[:16]
        )
        request.request_id = rid
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        user = getattr(request, "user", None)
        logger.info(
            "request",
            extra={
                "kv": {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "user": getattr(user, "username", "-") or "-",
                    "rid": rid,
                }
            },
        )
        return response


class LoginRequiredEverywhereMiddleware:
    """Pages need a logged-in user; the API answers 401/403 itself (token or session)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if request.user.is_authenticated or path.startswith(PUBLIC_PREFIXES) or path.startswith("/api/"):
            return self.get_response(request)
        return redirect(f"{settings.LOGIN_URL_PATH}?next={path}")
