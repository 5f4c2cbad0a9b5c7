"""Generate the OpenAPI schema of the export endpoints alone and collect drf-spectacular's warnings."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular import drainage
from drf_spectacular.generators import SchemaGenerator
from rest_framework.routers import DefaultRouter


def export_only_warnings() -> list[str]:
    from config.api_router import router

    mine = DefaultRouter()
    for prefix, viewset, basename in router.registry:
        if prefix.startswith("export/"):
            mine.register(prefix, viewset, basename=basename)
    collected: list[str] = []
    original = drainage.warn

    def capture(msg, delayed=None):
        collected.append(str(msg))

    drainage.warn = capture
    try:
        import drf_spectacular.hooks as hooks
        import drf_spectacular.openapi as openapi

        saved = (hooks.warn, openapi.warn)
        hooks.warn = openapi.warn = capture
        SchemaGenerator(patterns=[path("api/v1/", include(mine.urls))]).get_schema(request=None, public=True)
    finally:
        drainage.warn = original
        hooks.warn, openapi.warn = saved
    return collected
