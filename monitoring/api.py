"""REST: /api/v1/locks/ (list, create, release) and /api/v1/sdv/ (list, mark). Thin: services apply the rules."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from exports.pagination import IdCursorPagination
from exports.permissions import NonSponsorWrites
from monitoring import selectors, services
from monitoring.models import DataLock, LockKind, LockScope, SdvMark
from trial.api_errors import as_drf_error
from trial.audit import AuditContext


class MonitoringWrites(NonSponsorWrites):
    message = "This token or role is read-only: it cannot change locks or verification marks."


class LockSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", allow_null=True, read_only=True, default=None)
    participant = serializers.CharField(
        source="participant.study_id", allow_null=True, read_only=True, default=None
    )
    target = serializers.CharField(source="target_label", read_only=True)
    live = serializers.BooleanField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    released_by = serializers.CharField(
        source="released_by.username", allow_null=True, read_only=True, default=None
    )

    class Meta:
        model = DataLock
        fields = [
            "id",
            "scope",
            "kind",
            "target",
            "site",
            "participant",
            "resource",
            "object_id",
            "reason",
            "created_by",
            "created_at",
            "live",
            "released_at",
            "released_by",
            "release_reason",
        ]


class LockInputSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=LockScope.choices)
    kind = serializers.ChoiceField(choices=LockKind.choices, default=LockKind.LOCK)
    resource = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    object_id = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=2**62
    )
    reason = serializers.CharField(max_length=2000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class LockViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Freezes and locks the caller may see (study locks and those of their sites); newest first by id cursor."""

    serializer_class = LockSerializer
    pagination_class = IdCursorPagination
    permission_classes = [permissions.IsAuthenticated, MonitoringWrites]

    def get_queryset(self):
        return selectors.lock_list(user=self.request.user).order_by("id")

    @extend_schema(request=LockInputSerializer, responses={201: LockSerializer})
    def create(self, request: Request) -> Response:
        """Freeze or lock a record (resource + object_id), a casebook (object_id = participant id), a site
        (object_id = site id) or the study. Locking needs a data manager; a monitor may freeze a record or casebook."""
        data = LockInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            lock = services.lock_apply(
                ctx=AuditContext.from_request(request, source="api"), **data.validated_data
            )
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(LockSerializer(lock).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: LockSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> Response:
        """Release (unfreeze or unlock) with a reason: a data manager's action, audited."""
        lock = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            lock = services.lock_release(
                ctx=AuditContext.from_request(request, source="api"),
                lock=lock,
                reason=data.validated_data["reason"],
            )
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(LockSerializer(lock).data)


class SdvMarkSerializer(serializers.ModelSerializer):
    participant = serializers.CharField(source="participant.study_id", read_only=True)
    verified_by = serializers.CharField(source="verified_by.username", read_only=True)
    status = serializers.CharField(read_only=True, help_text='"verified" or "changed since verification".')

    class Meta:
        model = SdvMark
        fields = [
            "id",
            "resource",
            "object_id",
            "field",
            "participant",
            "record_version",
            "value_hash",
            "verified_by",
            "verified_at",
            "status",
            "cleared_at",
            "cleared_reason",
        ]


class FieldNames(serializers.ListField):
    """A list of field names whose item errors are flat messages ("item 2: ..."), as problem details expect."""

    def run_child_validation(self, data: list) -> list:
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
            raise serializers.ValidationError(
                [f"item {i}: {m}" if i != "" else str(m) for i, msgs in detail.items() for m in msgs]
            ) from exc


class SdvInputSerializer(serializers.Serializer):
    resource = serializers.CharField(max_length=40)
    object_id = serializers.IntegerField(min_value=1, max_value=2**62)
    fields = FieldNames(
        child=serializers.CharField(max_length=60),
        required=False,
        default=list,
        max_length=100,
        help_text="Fields verified; empty = the whole record.",
    )


SDV_FILTERS = [
    OpenApiParameter("resource", str, description="Export resource name, e.g. adverse-events."),
    OpenApiParameter("object_id", int, description="Record id in that resource."),
]


class SdvFilterSerializer(serializers.Serializer):
    resource = serializers.CharField(required=False, allow_blank=True, max_length=40)
    object_id = serializers.IntegerField(required=False, min_value=0, max_value=2**62)


class SdvViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Source data verification marks at the caller's sites (cleared marks say "changed since verification")."""

    serializer_class = SdvMarkSerializer
    pagination_class = IdCursorPagination
    permission_classes = [permissions.IsAuthenticated, MonitoringWrites]

    def get_queryset(self):
        params = SdvFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.sdv_marks(
            user=self.request.user,
            resource=params.validated_data.get("resource", ""),
            object_id=params.validated_data.get("object_id"),
        )

    @extend_schema(parameters=SDV_FILTERS)
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=SdvInputSerializer, responses={201: SdvMarkSerializer(many=True)})
    def create(self, request: Request) -> Response:
        """A monitor marks a record (fields empty) or some of its fields verified."""
        data = SdvInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            marks = services.sdv_mark(
                ctx=AuditContext.from_request(request, source="api"), **data.validated_data
            )
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(SdvMarkSerializer(marks, many=True).data, status=status.HTTP_201_CREATED)
