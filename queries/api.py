"""Query API: raise, list, read, answer (optionally correcting the value), close, reopen.

Scoped like every endpoint: a site user sees only their sites' queries; the sponsor and read-only tokens
read only. Roles are checked by `queries.services` (403), bad input is a 400 naming the field, a step the
query's state forbids is a 409, a correction of locked data a 423.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from exports.api import MAX_PAGE, IdCursorPagination
from exports.api_docs import Problem
from exports.permissions import API_AUTHENTICATION, API_THROTTLES, NonSponsorWrites
from queries import selectors, services
from queries.models import MessageKind, Query, QueryMessage, QueryOrigin, QueryStatus
from trial.api_errors import as_drf_error
from trial.audit import AuditContext
from trial.models import AuditSource


def _check_page_size(request) -> None:
    raw = request.query_params.get("page_size", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise serializers.ValidationError(
            {"page_size": [f"page_size must be an integer from 1 to {MAX_PAGE}."]}
        )


class QueryConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The query's state does not allow this step."
    default_code = "query_state"


class QueryWrites(NonSponsorWrites):
    message = "This token or role is read-only: it cannot change queries."


class MessageSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=MessageKind.choices, read_only=True)
    old_value = serializers.JSONField(read_only=True, allow_null=True)
    new_value = serializers.JSONField(read_only=True, allow_null=True)

    class Meta:
        model = QueryMessage
        fields = ["author_display", "at", "kind", "text", "old_value", "new_value"]


class QuerySerializer(serializers.ModelSerializer):
    participant = serializers.CharField(source="participant.study_id", read_only=True)
    site = serializers.CharField(source="site.code", read_only=True)
    status = serializers.ChoiceField(choices=QueryStatus.choices, read_only=True)
    origin = serializers.ChoiceField(choices=QueryOrigin.choices, read_only=True)
    messages = MessageSerializer(many=True, read_only=True)

    class Meta:
        model = Query
        fields = [
            "id",
            "status",
            "resource",
            "object_id",
            "field",
            "participant",
            "site",
            "text",
            "origin",
            "rule_code",
            "raised_by_display",
            "raised_at",
            "answered_at",
            "closed_at",
            "closed_automatically",
            "reopen_count",
            "messages",
        ]
        read_only_fields = fields


class RaiseSerializer(serializers.Serializer):
    resource = serializers.CharField(max_length=40, help_text='Export resource name, e.g. "adverse-events".')
    object_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    field = serializers.CharField(max_length=60, help_text="A column of the resource, e.g. grade.")
    text = serializers.CharField(max_length=services.MAX_TEXT)


class AnswerSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=services.MAX_TEXT)
    new_value = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="Optional: the corrected value of the queried field, written in the same step (audited, "
        "reason = the answer).",
    )


class CloseSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=services.MAX_TEXT, required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=services.MAX_TEXT)


LIST_PARAMETERS = [
    OpenApiParameter(
        "status", OpenApiTypes.STR, enum=["live", *QueryStatus.values], description="live = open or answered."
    ),
    OpenApiParameter("participant", OpenApiTypes.STR, description="Study id, e.g. NL01-001."),
    OpenApiParameter("site", OpenApiTypes.STR, description="Site code, e.g. NL01."),
    OpenApiParameter("resource", OpenApiTypes.STR, description="Export resource name of the queried record."),
    OpenApiParameter("object_id", OpenApiTypes.INT, description="Id of the queried record."),
    OpenApiParameter("field", OpenApiTypes.STR, description="Queried field."),
    OpenApiParameter("origin", OpenApiTypes.STR, enum=QueryOrigin.values),
    OpenApiParameter("rule", OpenApiTypes.STR, description="Rule code of automatic queries."),
    OpenApiParameter("raised_by", OpenApiTypes.STR, description='User name of the raiser, or "system".'),
    OpenApiParameter(
        "age", OpenApiTypes.STR, enum=list(selectors.AGE_BUCKETS), description="Age since raised."
    ),
    OpenApiParameter(
        "page_size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, description="1 to 1000."
    ),
]
LOCKED = {(423, "application/problem+json"): OpenApiResponse(Problem, description="The record is locked.")}


@extend_schema_view(list=extend_schema(parameters=LIST_PARAMETERS))
class QueryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Data queries on fields of clinical records: GET /api/v1/queries/?status=open&participant=&site="""

    serializer_class = QuerySerializer
    authentication_classes = API_AUTHENTICATION
    permission_classes = [permissions.IsAuthenticated, QueryWrites]
    throttle_classes = API_THROTTLES
    pagination_class = IdCursorPagination

    def get_queryset(self):
        qs = selectors.query_qs(self.request.user).prefetch_related("messages")
        if self.action == "list":
            try:
                qs = selectors.query_list(
                    user=self.request.user, filters=selectors.clean_filters(self.request.query_params)
                ).prefetch_related("messages")
            except ValidationError as exc:
                raise as_drf_error(exc) from exc
        return qs.order_by("id")

    def get_object(self) -> Query:
        return selectors.query_get(user=self.request.user, pk=self.kwargs.get("pk"))

    def list(self, request, *args, **kwargs):
        _check_page_size(request)
        return super().list(request, *args, **kwargs)

    def _ctx(self) -> AuditContext:
        return AuditContext.from_request(self.request, source=AuditSource.API)

    def _run(self, step, **kwargs) -> Response:
        try:
            query = step(ctx=self._ctx(), **kwargs)
        except services.QueryStateError as exc:
            raise QueryConflict(exc.messages[0]) from exc
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        query = selectors.query_get(user=self.request.user, pk=query.pk)
        code = status.HTTP_201_CREATED if step is services.query_raise else status.HTTP_200_OK
        return Response(QuerySerializer(query).data, status=code)

    @extend_schema(request=RaiseSerializer, responses={201: QuerySerializer})
    def create(self, request, *args, **kwargs):
        ser = RaiseSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._run(services.query_raise, **ser.validated_data)

    @extend_schema(request=AnswerSerializer, responses={200: QuerySerializer, **LOCKED})
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        query = self.get_object()
        ser = AnswerSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        kwargs = {"query": query, "text": ser.validated_data["text"]}
        if "new_value" in ser.validated_data:
            kwargs["new_value"] = ser.validated_data["new_value"]
        return self._run(services.query_answer, **kwargs)

    @extend_schema(request=CloseSerializer, responses={200: QuerySerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        query = self.get_object()
        ser = CloseSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._run(services.query_close, query=query, text=ser.validated_data["text"])

    @extend_schema(request=ReopenSerializer, responses={200: QuerySerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        query = self.get_object()
        ser = ReopenSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return self._run(services.query_reopen, query=query, text=ser.validated_data["text"])
