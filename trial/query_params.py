"""Validate the query parameters of hand-written API lists with a DRF serializer (400 with field messages)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


def validated(serializer_class: type[serializers.Serializer], params: Any) -> dict[str, Any]:
    """The serializer's validated data for the non-empty query parameters; raises DRF ValidationError."""
    checked = serializer_class(data={k: v for k, v in params.items() if v != ""})
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)


class ParticipantIdFilter(serializers.Serializer):
    participant = serializers.IntegerField(required=False, min_value=1, help_text="Participant id.")
