"""Register the PET API viewsets on the /api/v1/ router."""

from imaging import api


def register(router) -> None:
    router.register("pet-scans", api.ScanViewSet, basename="pet-scan")
    router.register("pet-uploads", api.SeriesUploadViewSet, basename="pet-upload")
    router.register("pet-findings", api.FindingViewSet, basename="pet-finding")
    router.register("pet-vois", api.VoiViewSet, basename="pet-voi")
    router.register("pet-voi-results", api.VoiResultViewSet, basename="pet-voi-result")
