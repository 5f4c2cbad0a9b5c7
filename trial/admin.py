"""Configuration screens; role and protocol changes made here are audited."""

from __future__ import annotations

from django.contrib import admin

from trial.audit import AuditContext, snapshot
from trial.models import (
    AuditEntry,
    AuditSource,
    EligibilityCriterion,
    Membership,
    ProtocolVersion,
    Site,
    VisitDefinition,
)
from trial.services import membership_audit


class AuditedAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else {}
        super().save_model(request, obj, form, change)
        after = snapshot(obj)
        diff = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        membership_audit(
            ctx=AuditContext.from_request(request, source=AuditSource.ADMIN),
            membership=obj,
            action="changed in admin" if change else "created in admin",
            changes=diff,
        )

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ["code", "name", "country", "time_zone"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Membership creation and changes are audited by a model signal (trial/audit_events.py), from any path."""

    list_display = ["user", "site", "role", "active"]
    list_filter = ["site", "role", "active"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProtocolVersion)
class ProtocolVersionAdmin(AuditedAdmin):
    list_display = ["version", "effective_date", "is_current"]


@admin.register(EligibilityCriterion)
class EligibilityCriterionAdmin(AuditedAdmin):
    list_display = ["protocol_version", "code", "kind", "text"]
    list_filter = ["protocol_version", "kind"]


@admin.register(VisitDefinition)
class VisitDefinitionAdmin(AuditedAdmin):
    list_display = [
        "protocol_version",
        "order",
        "code",
        "name",
        "anchor",
        "day",
        "window_before",
        "window_after",
    ]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "user_display", "action", "model", "object_id", "reason", "source"]
    list_filter = ["action", "source", "app_label", "model"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
