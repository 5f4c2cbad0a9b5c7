"""AE API: list, retrieve, create, update and change-grade for coordinators; read for sponsor and data manager.

Input serializers only parse types; every rule is applied by the same services as the form
(`safety.services`), and a rule violation becomes HTTP 400 with the field named.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from exports.permissions import ReadOnlyTokenRefusesWrites
from safety import selectors, services
from safety.api_filters import AeListFilters
from safety.models import ActionTaken, AdverseEvent, CtcaeTerm, Outcome, Relatedness, SaeNotification
from safety.rules import SAE_CRITERIA
from trial import access
from trial.api_errors import as_drf_error
from trial.api_versions import (
    CONFLICT_RESPONSES,
    ETAG_HEADER,
    IF_MATCH_DESCRIPTION,
    IF_MATCH_PARAMETER,
    expected_version,
    service_refusals,
    with_etag,
)
from trial.audit import AuditContext
from trial.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from trial.models import ApiToken
from trial.query_params import validated
from trial.selectors import participant_list


class NotReadOnlyToken(permissions.BasePermission):
    message = "This API token is read-only."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        return request.method in permissions.SAFE_METHODS or not (
            isinstance(token, ApiToken) and token.read_only
        )


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = SaeNotification
        fields = ["kind", "queued_at", "sent_at", "attempts", "last_error", "gave_up", "recipients"]


class AdverseEventSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)
    site = serializers.CharField(source="participant.site.code", read_only=True)
    meddra_code = serializers.IntegerField(source="term.meddra_code", read_only=True)
    term = serializers.CharField(source="term.term", read_only=True)
    soc = serializers.CharField(source="term.soc", read_only=True)
    grade_text = serializers.CharField(read_only=True)
    previous = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    notifications = NotificationSerializer(many=True, read_only=True)

    class Meta:
        model = AdverseEvent
        fields = [
            "id",
            "participant",
            "site",
            "ctcae_version",
            "meddra_code",
            "term",
            "soc",
            "verbatim_term",
            "grade",
            "grade_text",
            "onset_date",
            "onset_precision",
            "end_date",
            "end_precision",
            "ongoing",
            "serious",
            *[name for name, _ in SAE_CRITERIA],
            "sae_aware_at",
            "outcome",
            "death_date",
            "action_anti_pd1",
            "anti_pd1_drug",
            "immune_related",
            "rel_tracer",
            "rel_pet",
            "rel_biopsy",
            "rel_anti_pd1",
            "description",
            "out_of_window",
            "out_of_window_reason",
            "previous",
            "voided",
            "voided_at",
            "void_reason",
            "notifications",
            "created_at",
            "updated_at",
            "version",
        ]


def _rel() -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=Relatedness.choices)


class AdverseEventInputSerializer(serializers.Serializer):
    """Types only; the rules are the services'."""

    participant = serializers.CharField(help_text="Study id, e.g. NL01-007.")
    meddra_code = serializers.IntegerField(help_text="MedDRA code of the CTCAE term.")
    ctcae_version = serializers.CharField(default="5.0")
    verbatim_term = serializers.CharField(required=False, allow_blank=True, default="")
    grade = serializers.IntegerField()
    onset_date = serializers.CharField(help_text="YYYY, YYYY-MM or YYYY-MM-DD")
    end_date = serializers.CharField(required=False, allow_blank=True, default="")
    ongoing = serializers.BooleanField(required=False, default=False)
    serious = serializers.BooleanField(required=False, default=False)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    death_date = serializers.DateField(required=False, allow_null=True, default=None)
    action_anti_pd1 = serializers.ChoiceField(choices=ActionTaken.choices)
    immune_related = serializers.BooleanField(required=False, default=False)
    rel_tracer = _rel()
    rel_pet = _rel()
    rel_biopsy = _rel()
    rel_anti_pd1 = _rel()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    out_of_window_reason = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="Edits only: the version you read (or send If-Match)."
    )
    confirm_duplicate_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Create only: why this AE is not a duplicate of a live AE with the same term, onset and grade.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, _ in SAE_CRITERIA:
            self.fields[name] = serializers.BooleanField(required=False, default=False)


def resolve_term(meddra_code: int, version: str) -> CtcaeTerm:
    term = CtcaeTerm.objects.filter(meddra_code=meddra_code, version=version).first()
    if term is None:
        raise ValidationError({"meddra_code": f"No CTCAE v{version} term has MedDRA code {meddra_code}."})
    return term


def to_values(data: dict) -> dict:
    """Serializer data -> service values (term resolved; API-only keys dropped)."""
    values = {
        k: v
        for k, v in data.items()
        if k not in {"participant", "meddra_code", "ctcae_version", "reason", "confirm_duplicate_reason"}
    }
    if "meddra_code" in data:
        values["term"] = resolve_term(data["meddra_code"], data.get("ctcae_version") or "5.0")
    return values


@extend_schema_view(list=extend_schema(parameters=[AeListFilters]))
class AdverseEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Adverse events (CTCAE v5.0). Filters: ?site=NL01&drug=nivolumab&serious=1&immune_related=1&participant=NL01-001."""

    serializer_class = AdverseEventSerializer
    permission_classes = [permissions.IsAuthenticated, NotReadOnlyToken, ReadOnlyTokenRefusesWrites]

    def get_queryset(self):
        params = validated(AeListFilters, self.request.query_params)
        filters = {k: params.get(k) or "" for k in ("site", "drug")}
        filters |= {k: "1" if params.get(k) else "" for k in ("serious", "immune_related")}
        filters["include_voided"] = "1"
        qs = selectors.ae_list(user=self.request.user, filters=filters).prefetch_related("notifications")
        if params.get("participant"):
            qs = qs.filter(participant__study_id=params["participant"])
        return qs.order_by("id")

    def _ctx(self) -> AuditContext:
        return AuditContext.from_request(self.request, source="api")

    def _input(self, partial: bool = False) -> dict:
        ser = AdverseEventInputSerializer(data=self.request.data, partial=partial)
        ser.is_valid(raise_exception=True)
        return dict(ser.validated_data)

    @extend_schema(
        request=AdverseEventInputSerializer,
        responses={201: AdverseEventSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        if not access.sites_where(request.user, "adverse_events").exists():
            raise PermissionDenied("Your roles do not allow recording adverse events.")
        data = self._input()
        participant = participant_list(user=request.user).filter(study_id=data["participant"]).first()
        if participant is None:
            raise serializers.ValidationError(
                {"participant": [f"No participant {data['participant']} at your sites."]}
            )
        try:
            ae = services.ae_create(
                ctx=self._ctx(),
                participant=participant,
                values=to_values(data),
                confirm_duplicate_reason=data.get("confirm_duplicate_reason", ""),
            )
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(AdverseEventSerializer(ae).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: AdverseEventSerializer}, parameters=[ETAG_HEADER])
    def retrieve(self, request, *args, **kwargs):
        """One AE; the ETag header carries its version (send it back as If-Match when editing)."""
        ae = self.get_object()
        return with_etag(Response(AdverseEventSerializer(ae).data), ae)

    @extend_schema(
        request=AdverseEventInputSerializer,
        responses={200: AdverseEventSerializer, **CONFLICT_RESPONSES},
        parameters=[IF_MATCH_PARAMETER],
        description=f"Edit an AE (a reason is required). {IF_MATCH_DESCRIPTION}",
    )
    def update(self, request, *args, **kwargs):
        ae = self.get_object()
        version = expected_version(request)
        data = self._input(partial=True)
        data.pop("version", None)
        if "meddra_code" in data:
            data.setdefault("ctcae_version", ae.ctcae_version)
        with service_refusals():
            services.ae_update(
                ctx=self._ctx(),
                ae=ae,
                values=to_values(data),
                reason=data.get("reason", ""),
                expected_version=version,
            )
        ae.refresh_from_db()
        return with_etag(Response(AdverseEventSerializer(ae).data), ae)

    @extend_schema(
        request=AdverseEventInputSerializer,
        responses={200: AdverseEventSerializer, **CONFLICT_RESPONSES},
        parameters=[IF_MATCH_PARAMETER],
        description=f"Edit some fields of an AE (a reason is required). {IF_MATCH_DESCRIPTION}",
    )
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    @extend_schema(
        request=AdverseEventInputSerializer,
        responses={201: AdverseEventSerializer, **CONFLICT_RESPONSES},
        parameters=[IDEMPOTENCY_KEY_PARAMETER, IF_MATCH_PARAMETER],
    )
    @action(detail=True, methods=["post"], url_path="change-grade")
    @idempotent
    def change_grade(self, request, pk=None):
        """Record a change of grade: closes this record and returns the new, linked record."""
        ae = self.get_object()
        version = expected_version(request)
        data = self._input(partial=True)
        data.pop("version", None)
        with service_refusals():
            new = services.ae_change_grade(
                ctx=self._ctx(),
                ae=ae,
                values=to_values(data),
                reason=data.get("reason", ""),
                expected_version=version,
            )
        return Response(AdverseEventSerializer(new).data, status=status.HTTP_201_CREATED)
