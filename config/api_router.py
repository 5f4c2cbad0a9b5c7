"""The /api/v1/ router.

The trial's own read resources (sites, participants with status history, visits, doses) are the export
resources of exports/resources/trial.py: the same filters, cursor pages, CSV streaming and `changes/?since=`
feed as every other sponsor resource. Each app registers its capture endpoints in `<app>/api_routes.py`.
"""

from rest_framework.routers import DefaultRouter

from exports import api as export_api
from exports.resources import load_all

router = DefaultRouter()
_resources = load_all()
for prefix, basename in [
    ("sites", "site"),
    ("participants", "participant"),
    ("visits", "visit"),
    ("tracer-doses", "tracer-dose"),
    ("anti-pd1-doses", "anti-pd1-dose"),
]:
    router.register(prefix, export_api.viewset_for(_resources[prefix]), basename=basename)

for app in ("safety", "imaging", "lesions", "pathology", "exports", "queries", "monitoring"):
    try:
        module = __import__(f"{app}.api_routes", fromlist=["register"])
    except ModuleNotFoundError as exc:
        if exc.name != f"{app}.api_routes":
            raise
        continue
    module.register(router)
