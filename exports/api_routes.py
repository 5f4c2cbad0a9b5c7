"""Register the export API under /api/v1/export/... (see docs/EXPORTS.md for the proposed re-mapping)."""

from __future__ import annotations

from exports import api
from exports.resources import load_all

PREFIX = "export"
# config/api_router.py serves these at /api/v1/<name>/ too; sites only there.
UNROUTED = {"sites"}


def register(router) -> None:
    for name, resource in load_all().items():
        if name in UNROUTED:
            continue
        router.register(f"{PREFIX}/{name}", api.viewset_for(resource), basename=f"export-{name}")
    router.register(f"{PREFIX}/tokens", api.TokenViewSet, basename="export-token")
    router.register(f"{PREFIX}/bulk", api.ExportJobViewSet, basename="export-bulk")
