"""Small helpers shared by every app's thin views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def add_validation_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form, field by field where the field exists."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(
                    target,
                    message if target else f"{field}: {message}" if field != NON_FIELD_ERRORS else message,
                )
    else:
        for message in exc.messages:
            form.add_error(None, message)


def form_page(
    request: HttpRequest,
    form: forms.Form,
    save: Callable[[dict[str, Any]], Any],
    *,
    title: str,
    success: Callable[[Any], str],
    next_url: Callable[[Any], str],
    participant: Any = None,
) -> HttpResponse:
    """The shape every simple form page shares.

    GET renders the form. A valid POST calls `save(cleaned_data)`, the service call. A service
    ValidationError lands on the form (HTTP 400); success flashes `success(result)` and redirects to
    `next_url(result)`.
    """
    if request.method == "POST" and form.is_valid():
        try:
            result = save(dict(form.cleaned_data))
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, success(result))
            return redirect(next_url(result))
    return render(
        request,
        "trial/simple_form.html",
        {"form": form, "participant": participant, "title": title},
        status=400 if form.errors else 200,
    )
