"""REST: read biopsies and IHC scores; pathologists create IHC scores through the same service as the form."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from pathology import selectors, services
from pathology.models import Biopsy, IhcScore, ScoringMethod
from pathology.validation import COUNT_FIELDS, FIELD_KINDS
from trial import access
from trial.api_errors import as_drf_error
from trial.api_versions import VersionETagMixin
from trial.audit import AuditContext
from trial.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from trial.models import AuditSource
from trial.selectors import scoped_get


class BiopsySerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)
    lesion = serializers.SlugRelatedField(slug_field="label", read_only=True)

    class Meta:
        model = Biopsy
        fields = [
            "id",
            "participant",
            "period",
            "visit",
            "biopsy_date",
            "organ",
            "site_detail",
            "lesion",
            "lesion_id",
            "sample_id",
            "core_count",
            "tumour_cells_present",
            "adequacy_comment",
            "voided",
            "updated_at",
        ]


class IhcScoreSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)
    marker = serializers.SlugRelatedField(slug_field="code", read_only=True)
    scorer = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IhcScore
        fields = [
            "id",
            "participant",
            "biopsy",
            "marker",
            "scorer_number",
            "scorer",
            "score_date",
            "antibody_clone",
            "scoring_method",
            *FIELD_KINDS,
            *COUNT_FIELDS,
            "comment",
            "voided",
            "created_at",
            "updated_at",
        ]


def _decimal() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=4, required=False, allow_null=True)


def _count() -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True)


class IhcScoreInput(serializers.Serializer):
    biopsy = serializers.IntegerField()
    marker = serializers.CharField()
    score_date = serializers.DateField()
    antibody_clone = serializers.CharField(max_length=40)
    scoring_method = serializers.ChoiceField(choices=ScoringMethod.choices)
    density_intratumoural = _decimal()
    density_stromal = _decimal()
    percent_positive = _decimal()
    semi_quant = _count()
    immune_phenotype = serializers.CharField(required=False, allow_blank=True)
    tps = _decimal()
    cps = _decimal()
    h_score = _decimal()
    value = _decimal()
    value_category = serializers.CharField(required=False, allow_blank=True)
    pdl1_pos_tumour_cells = _count()
    pdl1_pos_lymphocytes = _count()
    pdl1_pos_macrophages = _count()
    viable_tumour_cells = _count()
    comment = serializers.CharField(required=False, allow_blank=True)


class BiopsyViewSet(VersionETagMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = BiopsySerializer

    def get_queryset(self):
        return selectors.biopsy_list(user=self.request.user).order_by("id")


class IhcScoreViewSet(VersionETagMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = IhcScoreSerializer

    def get_queryset(self):
        return selectors.ihc_score_list(user=self.request.user)

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER], request=IhcScoreInput, responses={201: IhcScoreSerializer}
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        if not access.sites_where(request.user, "pathology").exists():
            raise PermissionDenied("Only pathologists enter IHC scores.")
        data = IhcScoreInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = dict(data.validated_data)
        biopsy = scoped_get(Biopsy, user=request.user, pk=d.pop("biopsy"))
        marker = selectors.active_markers().filter(code=d.pop("marker")).first()
        if marker is None:
            raise serializers.ValidationError({"marker": "Unknown marker code."})
        meta = {k: d.pop(k) for k in ("score_date", "antibody_clone", "scoring_method")}
        comment = d.pop("comment", "")
        try:
            score = services.ihc_score_record(
                ctx=AuditContext.from_request(request, source=AuditSource.API),
                biopsy=biopsy,
                marker=marker,
                values=d,
                comment=comment,
                **meta,
            )
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(IhcScoreSerializer(score).data, status=status.HTTP_201_CREATED)
