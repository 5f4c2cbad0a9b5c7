"""Admin: the CTCAE dictionary is viewable; clinical AE data is changed only through the audited services."""

from django.contrib import admin

from safety.models import CtcaeTerm


@admin.register(CtcaeTerm)
class CtcaeTermAdmin(admin.ModelAdmin):
    list_display = ["term", "soc", "meddra_code", "version"]
    list_filter = ["version", "soc"]
    search_fields = ["term", "soc", "meddra_code"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
