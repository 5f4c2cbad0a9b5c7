"""Audit history of one exported record for the sponsor: every change with who, when, old/new and reason."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from exports.resources.base import Resource
from trial.models import AuditEntry

HistoryPage = inline_serializer(
    "AuditHistory",
    fields={
        "resource": serializers.CharField(),
        "id": serializers.IntegerField(),
        "entries": inline_serializer(
            "AuditHistoryEntry",
            many=True,
            fields={
                "at": serializers.DateTimeField(help_text="Server time, UTC."),
                "user": serializers.CharField(
                    help_text="Printed name (and login) at the time; 'system' for workers."
                ),
                "action": serializers.CharField(help_text="create, update, void, restore, sign, ..."),
                "changes": serializers.DictField(
                    child=serializers.ListField(allow_null=True),
                    help_text="{field: [old, new]} as stored in the audit trail.",
                ),
                "reason": serializers.CharField(allow_blank=True),
                "source": serializers.CharField(help_text="browser, api, import, worker, ..."),
            },
        ),
    },
)


def history(resource: Resource, pk: int) -> list[dict[str, Any]]:
    """Every audit entry of the record, oldest first (the caller has checked that the record is visible)."""
    app_label, model = resource.audit_key
    entries = AuditEntry.objects.filter(app_label=app_label, model=model, object_id=str(pk)).order_by("id")
    return [
        {
            "at": e["at"],
            "user": e["user_display"] or "system",
            "action": e["action"],
            "changes": e["changes"] or {},
            "reason": e["reason"],
            "source": e["source"],
        }
        for e in entries.values("at", "user_display", "action", "changes", "reason", "source")
    ]
