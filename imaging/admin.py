"""Read-only admin views of PET records (writes go through imaging.services)."""

from django.contrib import admin

from imaging.models import Finding, Scan, SeriesUpload, Voi, VoiResult


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Scan)
class ScanAdmin(ReadOnlyAdmin):
    list_display = ("participant", "visit", "modality", "status", "acquired_at")
    list_filter = ("modality", "status")


@admin.register(SeriesUpload)
class SeriesUploadAdmin(ReadOnlyAdmin):
    list_display = ("id", "participant", "scan", "instance_count", "state", "progress", "created_at")
    list_filter = ("state",)


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ("participant", "scan", "code", "severity", "acknowledged")
    list_filter = ("severity", "acknowledged", "code")


@admin.register(Voi)
class VoiAdmin(ReadOnlyAdmin):
    list_display = ("participant", "scan", "name", "kind", "organ", "source", "voided")


@admin.register(VoiResult)
class VoiResultAdmin(ReadOnlyAdmin):
    list_display = ("voi", "suv_max", "suv_mean", "suv_peak", "computed_at")
