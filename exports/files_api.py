"""Sponsor files over the token API, streamed: ODM 1.3.2, SDTM datasets (XPT, CSV, Dataset-JSON), Define-XML.

GET /api/v1/export/odm/?type=snapshot|transactional[&site=][&since=]   ODM 1.3.2 file
GET /api/v1/export/sdtm/                                              the list of datasets with links
GET /api/v1/export/sdtm/<DOMAIN>.xpt|.csv|.json                       one dataset
GET /api/v1/export/sdtm/define.xml                                    Define-XML 2.1 of the datasets
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import renderers, serializers
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exports import cursor, define_xml, odm_stream, sdtm_files, services
from exports.api_docs import ERRORS_READ, IgnoreAccept
from exports.permissions import API_AUTHENTICATION, API_PERMISSIONS, API_THROTTLES
from exports.sdtm_vars import SDTMIG_VERSION
from trial import access
from trial.audit import AuditContext
from trial.models import AuditSource

XML = "application/xml"


class FileView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = API_PERMISSIONS
    throttle_classes = API_THROTTLES
    renderer_classes = [renderers.JSONRenderer]
    content_negotiation_class = IgnoreAccept

    def audit(self, request: Request, what: str, params: dict) -> None:
        services.file_export_requested(
            ctx=AuditContext.from_request(request, source=AuditSource.API), what=what, params=params
        )


def _stream(chunks: Iterator[bytes], content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _file_chunks(path: Path, size: int = 64 * 1024) -> Iterator[bytes]:
    """Stream a temporary file and delete it afterwards."""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(size):
                yield chunk
    finally:
        os.unlink(path)


ODM_PARAMS = [
    OpenApiParameter(
        "type", OpenApiTypes.STR, enum=["snapshot", "transactional"], description="Default snapshot."
    ),
    OpenApiParameter(
        "site", OpenApiTypes.STR, description="Only this site's subjects (site code, e.g. NL01)."
    ),
    OpenApiParameter(
        "since",
        OpenApiTypes.STR,
        description=(
            "Transactional only: changes after this feed cursor (X-Next-Cursor of the previous file, a "
            "change feed's next_cursor or a bulk export's cursor). Empty or 0: the whole history."
        ),
    ),
]


class OdmExportView(FileView):
    @extend_schema(
        operation_id="export_odm",
        parameters=ODM_PARAMS,
        responses={
            (200, XML): OpenApiResponse(
                OpenApiTypes.BINARY,
                description=(
                    "CDISC ODM 1.3.2 file, streamed. Header X-Export-Cursor (snapshot) or X-Next-Cursor "
                    "(transactional): pass it as since= to fetch the next changes."
                ),
            ),
            **ERRORS_READ,
        },
        description="CDISC ODM 1.3.2 Snapshot (live values) or Transactional file (every audited change).",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        kind = request.query_params.get("type", "snapshot") or "snapshot"
        if kind not in ("snapshot", "transactional"):
            raise DRFValidationError({"type": ["Use snapshot or transactional."]})
        site_ids = access.visible_site_ids(request.user)
        code = request.query_params.get("site", "")
        if code:
            site = access.sites_visible_to(request.user).filter(code=code).first()
            if site is None:
                raise DRFValidationError({"site": [f"No site {code!r} among the sites you may read."]})
            site_ids = [site.pk]
        try:
            after = cursor.decode(request.query_params.get("since"))
        except cursor.CursorError as exc:
            raise DRFValidationError({"since": [str(exc)]}) from exc
        if request.query_params.get("since") and kind == "snapshot":
            raise DRFValidationError({"since": ["since= applies to type=transactional only."]})
        self.audit(request, f"ODM {kind}", dict(request.query_params.items()))
        scope = odm_stream.Scope(user=request.user, site_ids=site_ids)
        created = timezone.now()
        if kind == "snapshot":
            chunks, position = odm_stream.snapshot(scope, created)
            response = _stream(chunks, XML, f"cd8pet-odm-snapshot-{created:%Y%m%dT%H%M%S}.xml")
            response["X-Export-Cursor"] = position.encode()
        else:
            chunks, position = odm_stream.transactional(scope, created, after)
            response = _stream(chunks, XML, f"cd8pet-odm-transactional-{created:%Y%m%dT%H%M%S}.xml")
            response["X-Next-Cursor"] = position.encode()
        return response


DatasetList = inline_serializer(
    "SdtmDatasetList",
    fields={
        "standard": serializers.CharField(),
        "define": serializers.CharField(help_text="URL of the Define-XML 2.1 file."),
        "datasets": inline_serializer(
            "SdtmDataset",
            many=True,
            fields={
                "domain": serializers.CharField(),
                "label": serializers.CharField(),
                "xpt": serializers.CharField(help_text="SAS transport v5 file."),
                "csv": serializers.CharField(),
                "json": serializers.CharField(help_text="CDISC Dataset-JSON 1.1."),
            },
        ),
    },
)


class SdtmIndexView(FileView):
    @extend_schema(
        operation_id="export_sdtm_list",
        responses={200: DatasetList, **ERRORS_READ},
        description="The SDTM datasets with links to each file and to define.xml.",
    )
    def get(self, request: Request) -> Response:
        base = request.build_absolute_uri("/api/v1/export/sdtm/")
        return Response(
            {
                "standard": f"SDTMIG {SDTMIG_VERSION}",
                "define": f"{base}define.xml",
                "datasets": [
                    {
                        "domain": ds.name,
                        "label": ds.label,
                        **{ext: f"{base}{ds.name}.{ext}" for ext in sdtm_files.FORMATS},
                    }
                    for ds in sdtm_files.domains()
                ],
            }
        )


class SdtmFileView(FileView):
    @extend_schema(
        operation_id="export_sdtm_file",
        parameters=[
            OpenApiParameter(
                "filename",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="<DOMAIN>.xpt, <DOMAIN>.csv or <DOMAIN>.json (Dataset-JSON 1.1), e.g. AE.xpt.",
            )
        ],
        responses={
            (200, "application/x-sas-xport"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.OBJECT,
            **ERRORS_READ,
        },
        description="One SDTM dataset as SAS transport v5, CSV or CDISC Dataset-JSON 1.1.",
    )
    def get(self, request: Request, filename: str) -> StreamingHttpResponse:
        stem, _, ext = filename.rpartition(".")
        dataset = sdtm_files.dataset_of(stem) if ext in sdtm_files.FORMATS else None
        if dataset is None:
            raise NotFound(f"No SDTM file {filename!r}; see /api/v1/export/sdtm/ for the list.")
        self.audit(request, f"SDTM {dataset.name}.{ext}", {})
        rows = sdtm_files.domain_rows(request.user, dataset.name)
        name = f"{dataset.name.lower()}.{ext}"
        if ext == "csv":
            return _stream(sdtm_files.csv_chunks(dataset, rows), sdtm_files.FORMATS[ext], name)
        if ext == "json":
            chunks = sdtm_files.dataset_json_chunks(dataset, rows, timezone.now())
            return _stream(chunks, sdtm_files.FORMATS[ext], name)
        return _stream(_file_chunks(sdtm_files.xpt_file(dataset, rows)), sdtm_files.FORMATS[ext], name)


class DefineXmlView(FileView):
    @extend_schema(
        operation_id="export_sdtm_define",
        responses={(200, XML): OpenApiTypes.BINARY, **ERRORS_READ},
        description="Define-XML 2.1 of the SDTM datasets (origins, methods, value-level metadata, codelists).",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        self.audit(request, "SDTM define.xml", {})
        return _stream(define_xml.chunks(timezone.now()), XML, "define.xml")
