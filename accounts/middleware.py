"""Idle session timeout and the second factor's enforcement (after authentication and messages)."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts import otp

LAST_ACTIVITY_KEY = "accounts_last_activity"
# The timestamp is rewritten at most this often, so a burst of requests does not save the session each time.
ACTIVITY_RESOLUTION_SECONDS = 15
ALWAYS_OPEN = ("/static/", "/health/", "/accounts/logout/")


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect htmx follows as a full page load."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _with_next(url: str, request: HttpRequest) -> str:
    return f"{url}?{urlencode({'next': request.get_full_path()})}" if request.method == "GET" else url


class IdleTimeoutMiddleware:
    """Log a session out after SESSION_IDLE_TIMEOUT_MINUTES without a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
        if limit <= 0 or not request.user.is_authenticated or request.path.startswith(ALWAYS_OPEN):
            return self.get_response(request)
        now = time.time()
        last = request.session.get(LAST_ACTIVITY_KEY)
        if last is not None and now - float(last) > limit:
            logout(request)
            if request.path.startswith("/api/"):
                return self.get_response(request)  # the API answers 403 to the now anonymous request
            messages.info(
                request,
                f"You were logged out after {settings.SESSION_IDLE_TIMEOUT_MINUTES} minutes without activity.",
            )
            return _redirect(request, _with_next(reverse("login"), request))
        if last is None or now - float(last) >= ACTIVITY_RESOLUTION_SECONDS:
            request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


class SecondFactorMiddleware:
    """A session of a user with a TOTP device must be verified; OTP_REQUIRED_ROLES must enrol first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        path = request.path
        if not user.is_authenticated or path.startswith(ALWAYS_OPEN):
            return self.get_response(request)
        if not user.is_verified() and request.session.get(otp.NEEDS_CODE_KEY):
            # Logged in by a way that skipped the code: log out and ask for both factors again.
            logout(request)
            return self._refuse(
                request,
                reverse("login"),
                "Log in again: this account asks for a code from the authenticator app.",
            )
        if not path.startswith("/accounts/two-factor/") and otp.is_required(user) and not user.is_verified():
            return self._refuse(
                request, reverse("otp_enrol"), "Set up two-factor authentication before going on."
            )
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, url: str, message: str) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=403)
        messages.info(request, message)
        return _redirect(request, _with_next(url, request))
