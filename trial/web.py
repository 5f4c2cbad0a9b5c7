"""Small helpers shared by every app's thin views."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


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
