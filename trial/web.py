"""Small helpers shared by every app's thin views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from trial.idempotency import FormOutcome, submit_once
from trial.versioning import VersionConflict


def add_validation_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form, field by field where the field exists.

    On a VersionConflict the form is marked (`form_status` gives 409) and its hidden version moves to
    the current one, so the user's kept input can be checked and saved again deliberately.
    """
    if isinstance(exc, VersionConflict):
        form.version_conflict = True
        if form.is_bound and "version" in form.fields:
            form.data = form.data.copy()
            form.data[form.add_prefix("version")] = str(exc.current_version)
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


def form_status(form: forms.Form) -> int:
    """409 after a version conflict, 400 for other errors, else 200."""
    if getattr(form, "version_conflict", False):
        return 409
    return 400 if form.errors else 200


def without_version(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a versioned form's cleaned data into (service data, {"expected_version": n} or {})."""
    data = dict(data)
    if "version" not in data:
        return data, {}
    return data, {"expected_version": data.pop("version")}


def form_page(
    request: HttpRequest,
    form: forms.Form,
    save: Callable[[dict[str, Any]], Any],
    *,
    title: str,
    success: Callable[[Any], str],
    next_url: Callable[[Any], str],
    participant: Any = None,
    one_time: bool = False,
) -> HttpResponse:
    """The shape every simple form page shares.

    GET renders the form. A valid POST calls `save(cleaned_data)`, the service call. A service
    ValidationError lands on the form (HTTP 400); success flashes `success(result)` and redirects to
    `next_url(result)`. With `one_time` (create forms) a replayed POST of the same form token saves
    nothing and redirects to where the first POST went.
    """
    if request.method == "POST" and form.is_valid():
        try:
            if one_time:
                outcome = submit_once(request, lambda: save(dict(form.cleaned_data)), next_url)
            else:
                result = save(dict(form.cleaned_data))
                outcome = FormOutcome(result, next_url(result))
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return finish_form(request, outcome, success)
    return render(
        request,
        "trial/simple_form.html",
        {"form": form, "participant": participant, "title": title},
        status=form_status(form),
    )


def finish_form(request: HttpRequest, outcome: FormOutcome, success: Callable[[Any], str]) -> HttpResponse:
    """Flash what happened and redirect: the saved record, or where the earlier POST of this form went."""
    if outcome.replayed:
        messages.info(request, outcome.message)
    else:
        messages.success(request, success(outcome.result))
    return redirect(outcome.url)
