from django.contrib import admin

from lesions.models import Assessment, Lesion, Measurement, MriParameterSet


@admin.register(Lesion, Assessment, Measurement, MriParameterSet)
class ReadOnlyAdmin(admin.ModelAdmin):
    """Clinical data is written through services only; the admin is read-only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
