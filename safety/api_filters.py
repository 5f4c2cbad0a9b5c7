"""Query parameters of the adverse event list API, validated (400 with field messages on bad values)."""

from __future__ import annotations

from rest_framework import serializers

from trial.models import AntiPD1Drug


class AeListFilters(serializers.Serializer):
    site = serializers.CharField(required=False, max_length=20, help_text="Site code, e.g. NL01.")
    drug = serializers.ChoiceField(required=False, choices=AntiPD1Drug.choices)
    serious = serializers.BooleanField(required=False, help_text="1: serious events only.")
    immune_related = serializers.BooleanField(required=False, help_text="1: immune-related events only.")
    participant = serializers.CharField(required=False, max_length=40, help_text="Study id, e.g. NL01-001.")
