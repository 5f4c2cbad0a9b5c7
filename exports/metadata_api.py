"""GET /api/v1/export/metadata/: the data dictionary of every export resource (fields, types, code lists)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from exports import odm_meta, selectors
from exports.api_docs import ERRORS_READ
from exports.api_routes import UNROUTED
from exports.files_api import FileView
from exports.resources import load_all
from exports.resources.base import path_nullable

Metadata = inline_serializer(
    "Metadata",
    fields={
        "resources": inline_serializer(
            "MetadataResource",
            many=True,
            fields={
                "name": serializers.CharField(),
                "description": serializers.CharField(),
                "list_url": serializers.CharField(),
                "changes_url": serializers.CharField(),
                "filters": inline_serializer(
                    "MetadataFilter",
                    many=True,
                    fields={"name": serializers.CharField(), "description": serializers.CharField()},
                ),
                "fields": inline_serializer(
                    "MetadataField",
                    many=True,
                    fields={
                        "name": serializers.CharField(),
                        "type": serializers.CharField(
                            help_text="ODM 1.3.2 DataType: text, integer, float, ..."
                        ),
                        "length": serializers.IntegerField(allow_null=True),
                        "significant_digits": serializers.IntegerField(allow_null=True),
                        "nullable": serializers.BooleanField(),
                        "description": serializers.CharField(),
                        "unit": serializers.CharField(allow_null=True),
                        "codes": inline_serializer(
                            "MetadataCode",
                            many=True,
                            fields={"code": serializers.CharField(), "label": serializers.CharField()},
                        ),
                    },
                ),
            },
        )
    },
)


def _field(resource, col) -> dict:
    item = odm_meta._item(resource, col)
    nullable = bool(col.expr is None and path_nullable(resource.model, col.path or col.name))
    return {
        "name": col.name,
        "type": item.data_type,
        "length": item.length,
        "significant_digits": item.digits,
        "nullable": nullable,
        "description": item.question,
        "unit": item.unit[1] if item.unit else None,
        "codes": [{"code": code, "label": label} for code, label in item.codes],
    }


def metadata() -> dict:
    out = []
    for name, resource in load_all().items():
        base = "/api/v1/sites/" if name in UNROUTED else f"/api/v1/export/{name}/"
        out.append(
            {
                "name": name,
                "description": resource.description,
                "list_url": base,
                "changes_url": f"{base}changes/",
                "filters": [{"name": n, "description": d} for n, d in selectors.filter_params(resource)],
                "fields": [_field(resource, col) for col in resource.columns],
            }
        )
    return {"resources": out}


class MetadataView(FileView):
    @extend_schema(
        operation_id="export_metadata",
        responses={200: Metadata, **ERRORS_READ},
        description="Data dictionary: every export resource with its filters and fields (type, length, unit, "
        "nullability, description and code list with labels).",
    )
    def get(self, request: Request) -> Response:
        return Response(metadata())
