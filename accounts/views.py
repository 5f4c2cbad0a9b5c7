"""Thin pages: password change and reset (Django's views, audited), TOTP enrolment and the verify step."""

from __future__ import annotations

import dataclasses

import django_otp
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import lockout, otp, services
from accounts.forms import RemoveSecondFactorForm, TokenForm
from trial import audit_events
from trial.audit import AuditContext
from trial.web import add_validation_errors


class Status400OnErrors:
    """A POSTed form with errors answers 400, like every form of the project."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordChangeView(Status400OnErrors, auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(
            ctx=AuditContext.from_request(self.request), user=form.user, reason="Password changed by the user"
        )
        return response


class PasswordResetView(Status400OnErrors, auth_views.PasswordResetView):
    pass


class PasswordResetConfirmView(Status400OnErrors, auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        ctx = dataclasses.replace(AuditContext.from_request(self.request), user=form.user)
        services.password_changed(ctx=ctx, user=form.user, reason="Password reset through the e-mailed link")
        return response


def _safe_next(request: HttpRequest, url: str) -> str:
    allowed = url_has_allowed_host_and_scheme(url, {request.get_host()}, require_https=request.is_secure())
    return url if url and allowed else reverse("dashboard")


def otp_verify(request: HttpRequest) -> HttpResponse:
    """Second step of a login for a user with a confirmed TOTP device."""
    state = otp.pending(request)
    if state is None:
        messages.info(request, "Log in with your user name and password first.")
        return redirect("login")
    user, data = state
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = otp.confirmed_device(user)
        attempt = lockout.counted_attempt(
            user.get_username(),
            lambda: device is not None and device.verify_token(form.cleaned_data["token"]),
            AuditContext.from_request(request).ip_address,
        )
        if attempt.ok:
            otp.complete_login(request, user, device, data)
            return redirect(_safe_next(request, data["next"]))
        why = "wrong two-factor code" if attempt.checked else "account locked"
        audit_events.login_refused(request, user.get_username(), why)
        if attempt.locked_until is not None:
            otp.cancel(request)
            form.add_error(None, lockout.lock_message(attempt.locked_until))
        else:
            form.add_error("token", "The code is not correct.")
    return render(request, "accounts/otp_verify.html", {"form": form}, status=400 if form.errors else 200)


def otp_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: show the key as otpauth URI and QR code, confirm with a first code."""
    try:
        device = services.totp_device_start(user=request.user)
    except ValidationError as exc:
        raise PermissionDenied(" ".join(exc.messages)) from exc
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_device_confirm(
                ctx=AuditContext.from_request(request), device=device, token=form.cleaned_data["token"]
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            django_otp.login(request, device)
            messages.success(
                request, "Two-factor authentication is on: logins now ask for a code from the app."
            )
            return redirect(_safe_next(request, request.GET.get("next", "")))
    context = {
        "form": form,
        "remove_form": RemoveSecondFactorForm(),
        "uri": device.config_url,
        "qr_svg": otp.qr_svg(device.config_url),
        "enrolled": otp.has_confirmed_device(request.user),
        "required": otp.is_required(request.user),
    }
    return render(request, "accounts/otp_enrol.html", context, status=400 if form.errors else 200)


@require_POST
def otp_remove(request: HttpRequest) -> HttpResponse:
    """Switch one's own second factor off (password and a current code again; audited)."""
    form = RemoveSecondFactorForm(request.POST)
    if form.is_valid():
        try:
            services.totp_device_remove(
                ctx=AuditContext.from_request(request),
                user=request.user,
                password=form.cleaned_data["password"],
                token=form.cleaned_data["token"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Two-factor authentication is off for your account.")
            return redirect("otp_enrol")
    return render(request, "accounts/otp_remove.html", {"form": form}, status=400)
