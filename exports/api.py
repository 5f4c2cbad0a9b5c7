"""Read API for sponsor exports: one viewset per resource (JSON pages, streamed CSV, change feed)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, permissions, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from exports import bulk, cursor, selectors, services
from exports import history as export_history
from exports.api_docs import ERRORS_READ, IgnoreAccept
from exports.csv_body import csv_body
from exports.limits import ExportLimitReached
from exports.models import ExportJob
from exports.pagination import MAX_PAGE, IdCursorPagination
from exports.permissions import API_AUTHENTICATION, API_PERMISSIONS, API_THROTTLES, IsDataManager
from exports.resources.base import Resource, serializer_for
from trial.api_errors import as_drf_error
from trial.audit import AuditContext
from trial.models import ApiToken, AuditSource, TokenScope


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else str(data or "").encode()


def _page_size(request, default: int = 100) -> int:
    raw = request.query_params.get("page_size", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise DRFValidationError({"page_size": [f"page_size must be an integer from 1 to {MAX_PAGE}."]})
    return int(raw)


def _filter_parameters(resource: Resource) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(name, OpenApiTypes.STR, description=text)
        for name, text in selectors.filter_params(resource)
    ]


def change_item_serializer(resource: Resource, record: type, **kwargs):
    stem = record.__name__
    return inline_serializer(
        f"{stem}Change",
        **kwargs,
        fields={
            "id": serializers.IntegerField(),
            "voided": serializers.BooleanField(help_text="True for a tombstone: the record was voided."),
            "action": serializers.CharField(
                help_text="Audit action of the latest change: create, update, void, ..."
            ),
            "changed_at": serializers.DateTimeField(),
            "cursor": serializers.CharField(help_text="Position of this change in the feed."),
            "record": record(allow_null=True, help_text="Current state; null for a tombstone."),
        },
    )


def change_page_serializer(resource: Resource, record: type):
    return inline_serializer(
        f"{record.__name__}ChangePage",
        fields={
            "results": change_item_serializer(resource, record, many=True),
            "next_cursor": serializers.CharField(
                help_text="Pass as ?since= to get the changes after this page."
            ),
            "has_more": serializers.BooleanField(help_text="True when more changes are already available."),
        },
    )


_VIEWSETS: dict[str, type] = {}


def viewset_for(resource: Resource) -> type:
    """The read-only viewset of a resource (built once, so routing it twice keeps one schema component)."""
    if resource.name not in _VIEWSETS:
        _VIEWSETS[resource.name] = _build_viewset(resource)
    return _VIEWSETS[resource.name]


def _build_viewset(resource: Resource) -> type:
    """Build a read-only viewset: list (JSON page or streamed CSV), retrieve, and /changes/?since=."""
    record = serializer_for(resource)
    csv_param = OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        enum=["json", "csv"],
        description="csv streams every matching row (no pagination).",
    )
    params = _filter_parameters(resource)

    class ResourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
        authentication_classes = API_AUTHENTICATION
        permission_classes = API_PERMISSIONS
        throttle_classes = API_THROTTLES
        renderer_classes = [renderers.JSONRenderer, CSVRenderer]
        pagination_class = IdCursorPagination
        serializer_class = record
        export_resource = resource

        def get_queryset(self):
            qs = selectors.base_queryset(resource, self.request.user)
            try:
                qs = selectors.apply_filters(resource, qs, self.request.query_params)
            except ValidationError as exc:
                raise as_drf_error(exc) from exc
            return qs

        def list(self, request, *args, **kwargs):
            qs = self.get_queryset()
            if request.accepted_renderer.format == "csv":
                services.csv_export_requested(
                    ctx=AuditContext.from_request(request, source=AuditSource.API),
                    resource=resource.name,
                    params=dict(request.query_params.items()),
                )
                body = csv_body(resource, qs)
                response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="{resource.name}.csv"'
                return response
            _page_size(request)
            page = self.paginate_queryset(selectors.rows(resource, qs))
            selectors.attach_nested(resource, page)
            return self.get_paginated_response(self.get_serializer(page, many=True).data)

        def retrieve(self, request, *args, **kwargs):
            pk = kwargs.get("pk", "")
            found = (
                list(selectors.rows(resource, self.get_queryset().filter(pk=pk))) if str(pk).isdigit() else []
            )
            if not found:
                raise NotFound()
            selectors.attach_nested(resource, found)
            return Response(self.get_serializer(found[0]).data)

        @action(detail=True, methods=["get"], url_path="history", pagination_class=None)
        def history(self, request, *args, **kwargs):
            pk = kwargs.get("pk", "")
            if not str(pk).isdigit() or not self.get_queryset().filter(pk=pk).exists():
                raise NotFound()
            entries = export_history.history(resource, int(pk))
            return Response({"resource": resource.name, "id": int(pk), "entries": entries})

        @action(
            detail=False,
            methods=["get"],
            url_path="changes",
            pagination_class=None,
            renderer_classes=[renderers.JSONRenderer],
        )
        def changes(self, request, *args, **kwargs):
            try:
                after = cursor.decode(request.query_params.get("since"))
            except cursor.CursorError as exc:
                raise DRFValidationError({"since": [str(exc)]}) from exc
            page = selectors.change_page(resource, request.user, after, _page_size(request, 500))
            # One list serializer for the page: its fields are built once, not once per record (issue 17).
            live = [item["record"] for item in page.items if item["record"] is not None]
            serialised = iter(record(live, many=True).data)
            items = [
                {**item, "record": next(serialised)} if item["record"] is not None else item
                for item in page.items
            ]
            return Response({"results": items, "next_cursor": page.next_cursor, "has_more": page.has_more})

    ResourceViewSet.__name__ = f"{record.__name__}ViewSet"
    ResourceViewSet.__qualname__ = ResourceViewSet.__name__
    since = OpenApiParameter(
        "since",
        OpenApiTypes.STR,
        description=(
            "Cursor from a previous next_cursor (or a bulk export); empty or 0 starts at the beginning."
        ),
    )
    size = OpenApiParameter("page_size", OpenApiTypes.INT, description=f"1 to {MAX_PAGE}.")
    return extend_schema_view(
        list=extend_schema(
            parameters=[*params, csv_param, size],
            description=resource.description,
            responses={200: record(many=True), **ERRORS_READ},
        ),
        retrieve=extend_schema(description=resource.description, responses={200: record, **ERRORS_READ}),
        history=extend_schema(
            responses={200: export_history.HistoryPage, **ERRORS_READ},
            description=(
                f"Audit history of one {resource.name} record: every change with who, when (UTC), the old and "
                "new values and the reason, oldest first."
            ),
        ),
        changes=extend_schema(
            parameters=[since, size],
            responses={200: change_page_serializer(resource, record), **ERRORS_READ},
            description=(
                f"Incremental sync of {resource.name}: every object changed after the cursor, once, at "
                "its latest change (current state, or a tombstone when voided), with the next cursor."
            ),
        ),
    )(ResourceViewSet)


# ---- tokens ------------------------------------------------------------------------------------------------


class TokenSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "user",
            "prefix",
            "label",
            "read_only",
            "created_by",
            "created_at",
            "revoked_at",
            "last_used_at",
            "expires_at",
            "scopes",
        ]
        read_only_fields = fields

    scopes = serializers.ListField(child=serializers.ChoiceField(choices=TokenScope.choices), read_only=True)


class TokenIssueSerializer(serializers.Serializer):
    username = serializers.CharField()
    label = serializers.CharField(required=False, allow_blank=True, default="")
    read_only = serializers.BooleanField(required=False, default=True)
    expires_in_days = serializers.IntegerField(
        required=False,
        default=services.TOKEN_DAYS_DEFAULT,
        min_value=1,
        max_value=services.TOKEN_DAYS_MAX,
        help_text="Days until the token stops working (1 to 365).",
    )
    scopes = serializers.MultipleChoiceField(
        choices=TokenScope.choices,
        required=False,
        allow_empty=False,
        help_text="export (/api/v1/export/), capture (the rest of /api/v1/); default both.",
    )


class TokenIssuedSerializer(TokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; only its SHA-256 is stored.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "key"]


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField()


class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Data managers issue and revoke per-user API tokens."""

    authentication_classes = API_AUTHENTICATION
    permission_classes = API_PERMISSIONS
    throttle_classes = API_THROTTLES
    serializer_class = TokenSerializer
    pagination_class = IdCursorPagination

    def get_permissions(self):
        if self.action in ("create", "revoke"):
            return [*super().get_permissions(), IsDataManager()]
        return super().get_permissions()

    def get_queryset(self):
        from exports.selectors import tokens_for

        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return tokens_for(self.request.user)

    @extend_schema(request=TokenIssueSerializer, responses={201: TokenIssuedSerializer})
    def create(self, request, *args, **kwargs):
        data = TokenIssueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token, key = services.token_issue(
                ctx=AuditContext.from_request(request, source=AuditSource.API), **data.validated_data
            )
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        token.key = key
        return Response(TokenIssuedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RevokeSerializer, responses={200: TokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs):
        token = self.get_object()
        data = RevokeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = services.token_revoke(
                ctx=AuditContext.from_request(request, source=AuditSource.API),
                token=token,
                reason=data.validated_data["reason"],
            )
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(TokenSerializer(token).data)


# ---- bulk exports ------------------------------------------------------------------------------------------


class ExportJobSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "status",
            "progress",
            "step",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "cursor",
            "snapshot_txid",
            "size_bytes",
            "error",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, job: ExportJob) -> str | None:
        """The API download (the same token that started the job may fetch it)."""
        return f"/api/v1/export/bulk/{job.pk}/download/" if job.status == ExportJob.Status.DONE else None


class CanStartExport(permissions.BasePermission):
    message = "Only data managers and the sponsor can start a bulk export."

    def has_permission(self, request, view) -> bool:
        return services.can_start_export(request.user)


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulk exports: a zip of every resource at one database snapshot, with the feed cursor of that snapshot."""

    authentication_classes = API_AUTHENTICATION
    permission_classes = API_PERMISSIONS
    throttle_classes = API_THROTTLES
    serializer_class = ExportJobSerializer
    pagination_class = IdCursorPagination

    content_negotiation_class = IgnoreAccept

    def get_permissions(self):
        if self.action == "create":
            # Starting an export writes no clinical data: read-only (sponsor) tokens may start one.
            return [permissions.IsAuthenticated(), CanStartExport()]
        return super().get_permissions()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.objects.none()
        return selectors.export_jobs_for(self.request.user)

    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY, **ERRORS_READ},
        description="The zip of a finished bulk export (404 while it is not ready).",
    )
    @action(detail=True, methods=["get"], url_path="download")
    def download(self, request, *args, **kwargs):
        job = self.get_object()
        if job.status != ExportJob.Status.DONE:
            raise NotFound("This export is not ready.")
        services.export_job_downloaded(
            ctx=AuditContext.from_request(request, source=AuditSource.API), job=job
        )
        return FileResponse(
            bulk.open_zip_bytes(job),
            as_attachment=True,
            filename=f"cd8pet-export-{job.pk}.zip",
            content_type="application/zip",
        )

    @extend_schema(request=None, responses={202: ExportJobSerializer, **ERRORS_READ})
    def create(self, request, *args, **kwargs):
        try:
            job = services.export_job_start(ctx=AuditContext.from_request(request, source=AuditSource.API))
        except ExportLimitReached as exc:
            raise Throttled(wait=exc.retry_after, detail=str(exc)) from exc
        return Response(ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
