"""Turn a service ValidationError into DRF's 400 with field errors."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from rest_framework import serializers


def as_drf_error(exc: ValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        detail = {
            ("non_field_errors" if k == NON_FIELD_ERRORS else k): v for k, v in exc.message_dict.items()
        }
        return serializers.ValidationError(detail)
    return serializers.ValidationError({"non_field_errors": exc.messages})
