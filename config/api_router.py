"""The /api/v1/ router; each app registers its viewsets in its own `api_routes.py`."""

from rest_framework.routers import DefaultRouter

from trial import api as trial_api

router = DefaultRouter()
router.register("sites", trial_api.SiteViewSet, basename="site")
router.register("participants", trial_api.ParticipantViewSet, basename="participant")
router.register("visits", trial_api.VisitViewSet, basename="visit")
router.register("tracer-doses", trial_api.TracerDoseViewSet, basename="tracer-dose")
router.register("anti-pd1-doses", trial_api.AntiPD1DoseViewSet, basename="anti-pd1-dose")

for app in ("safety", "imaging", "lesions", "pathology", "exports"):
    try:
        module = __import__(f"{app}.api_routes", fromlist=["register"])
    except ModuleNotFoundError as exc:
        if exc.name != f"{app}.api_routes":
            raise
        continue
    module.register(router)
