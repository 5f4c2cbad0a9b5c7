"""Query parameters of the export lists, validated by a DRF serializer built per resource.

Dates, date-times, choices and page sizes are checked (and out-of-range date-times refused) before any
query runs, so a bad value is a 400 with field messages, never a 500 or a CSV stream cut halfway.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from exports.resources.base import Resource

MAX_PAGE = 1000
SAFE_DATETIME = (dt.datetime(1, 1, 2, tzinfo=dt.UTC), dt.datetime(9999, 12, 30, tzinfo=dt.UTC))


class DateOrDateTimeField(serializers.Field):
    """An ISO 8601 date (`2024-02-29`) or date-time (`2024-02-29T10:00:00Z`); a naive date-time is UTC."""

    default_error_messages = {
        "invalid": "{value!r} is not an ISO 8601 date or date-time.",
        "range": "{value!r} is out of range.",
    }

    def to_internal_value(self, data: Any) -> dt.date | dt.datetime:
        text = str(data).strip()
        if "T" in text or " " in text:
            return _datetime(self, text)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.fail("invalid", value=text)

    def to_representation(self, value: Any) -> str:
        return value.isoformat()


def _datetime(field: serializers.Field, text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        field.fail("invalid", value=text)
    if timezone.is_naive(when):
        when = when.replace(tzinfo=dt.UTC)
    try:
        utc = when.astimezone(dt.UTC)
    except OverflowError:
        field.fail("range", value=text)
    if not SAFE_DATETIME[0] <= utc <= SAFE_DATETIME[1]:
        field.fail("range", value=text)
    return utc


class DateTimeParam(DateOrDateTimeField):
    default_error_messages = {
        "invalid": "{value!r} is not an ISO 8601 date-time.",
        "range": "{value!r} is out of range.",
    }

    def to_internal_value(self, data: Any) -> dt.datetime:
        return _datetime(self, str(data).strip())


def _text(help_text: str) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, max_length=100, help_text=help_text)


def filter_serializer(resource: Resource) -> type[serializers.Serializer]:
    """The serializer of the list filters of one resource (names as in `selectors.filter_params`)."""
    fields: dict[str, serializers.Field] = {
        "page_size": serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE),
        "format": serializers.ChoiceField(required=False, choices=["json", "csv"]),
    }
    if resource.participant_field:
        fields["participant"] = _text("Study id, e.g. NL01-001.")
    if resource.site_field or resource.name == "sites":
        fields["site"] = _text("Site code, e.g. NL01.")
    for name in resource.date_fields:
        fields[f"{name}_from"] = DateOrDateTimeField(required=False)
        fields[f"{name}_to"] = DateOrDateTimeField(required=False)
    fields["changed_since"] = DateTimeParam(required=False)
    if resource.has_voided:
        fields["include_voided"] = serializers.ChoiceField(required=False, choices=["0", "1"])
    return type(f"{resource.name.title().replace('-', '')}Filters", (serializers.Serializer,), fields)


def clean(resource: Resource, params: Any) -> dict[str, Any]:
    """Validated filters (empty values dropped); raises DRF ValidationError with field messages."""
    data = {k: v for k, v in params.items() if v != ""}
    checked = filter_serializer(resource)(data=data)
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)
