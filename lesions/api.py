"""Lesion registry API: reads of lesions, assessments with stored responses, measurements, MRI parameters;
writes (lesion create, measurements of an assessment) go through the same services as the pages."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from lesions import selectors, services
from lesions.models import (
    PARAMETER_FIELDS,
    Assessment,
    LesionRole,
    MaskAnalysis,
    Measurement,
    MeasurementState,
    MriParameterSet,
    NonTargetState,
)
from lesions.models import Lesion as LesionModel
from trial import access
from trial.api_errors import as_drf_error
from trial.api_versions import VersionETagMixin
from trial.audit import AuditContext
from trial.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from trial.models import AuditSource
from trial.query_params import ParticipantIdFilter, validated
from trial.selectors import participant_get


class LesionSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)

    class Meta:
        model = LesionModel
        fields = [
            "id",
            "participant",
            "label",
            "organ",
            "location",
            "nodal",
            "role",
            "description",
            "voided",
            "updated_at",
        ]


class LesionCreateSerializer(serializers.Serializer):
    participant = serializers.IntegerField()
    label = serializers.CharField(max_length=16)
    organ = serializers.CharField(max_length=60)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    nodal = serializers.BooleanField(default=False)
    role = serializers.ChoiceField(choices=LesionRole.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class AssessmentSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)

    class Meta:
        model = Assessment
        fields = [
            "id",
            "participant",
            "date",
            "visit",
            "modality",
            "sum_mm",
            "nadir_mm",
            "new_lesion_target_sum_mm",
            "target_response",
            "non_target_response",
            "new_lesions_present",
            "recist_response",
            "irecist_response",
            "reasons",
            "engine_error",
            "voided",
            "updated_at",
        ]


class MeasurementSerializer(serializers.ModelSerializer):
    lesion_label = serializers.CharField(source="lesion.label", read_only=True)
    date = serializers.DateField(source="assessment.date", read_only=True)
    counted_mm = serializers.FloatField(source="effective_mm", read_only=True, allow_null=True)

    class Meta:
        model = Measurement
        fields = [
            "id",
            "assessment",
            "date",
            "lesion",
            "lesion_label",
            "state",
            "value_mm",
            "counted_mm",
            "non_target_state",
            "voided",
            "updated_at",
        ]


class MeasurementEntrySerializer(serializers.Serializer):
    lesion = serializers.IntegerField()
    state = serializers.ChoiceField(choices=MeasurementState.choices, required=False)
    value_mm = serializers.DecimalField(max_digits=6, decimal_places=1, required=False, allow_null=True)
    non_target_state = serializers.ChoiceField(
        choices=NonTargetState.choices, required=False, allow_blank=True
    )


class MeasurementBatchSerializer(serializers.Serializer):
    measurements = MeasurementEntrySerializer(many=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class MriParameterSetSerializer(serializers.ModelSerializer):
    lesion = serializers.IntegerField(source="roi.lesion_id", read_only=True)
    lesion_label = serializers.CharField(source="roi.lesion.label", read_only=True)
    acquired_on = serializers.DateField(source="roi.acquired_on", read_only=True)
    roi_label = serializers.CharField(source="roi.label", read_only=True)

    class Meta:
        model = MriParameterSet
        fields = [
            "id",
            "lesion",
            "lesion_label",
            "acquired_on",
            "roi_label",
            "kind",
            "method",
            "model",
            "status",
            "error",
            *PARAMETER_FIELDS,
            "fit_rms",
            "fit_success",
            "mr_roi",
            "voxel_count",
            "volume_ml",
            "spread",
            "provenance",
            "voided",
            "updated_at",
        ]


class MaskAnalysisSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaskAnalysis
        fields = [
            "id",
            "lesion",
            "acquired_on",
            "modality",
            "status",
            "error",
            "spacing_mm",
            "voxel_count",
            "voxel_volume_mm3",
            "mesh_volume_mm3",
            "mesh_area_mm2",
            "texture_features",
            "provenance",
            "voided",
        ]


@extend_schema_view(list=extend_schema(parameters=[ParticipantIdFilter]))
class LesionViewSet(VersionETagMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = LesionSerializer

    def get_queryset(self):
        qs = selectors.lesion_list(user=self.request.user)
        pid = validated(ParticipantIdFilter, self.request.query_params).get("participant")
        return qs.filter(participant_id=pid) if pid else qs

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=LesionCreateSerializer,
        responses={201: LesionSerializer},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        if not access.sites_where(request.user, services.CAPABILITY).exists():
            raise PermissionDenied("Only radiologists record lesions.")
        data = LesionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        participant = participant_get(user=request.user, pk=values.pop("participant"))
        try:
            lesion = services.lesion_create(
                ctx=AuditContext.from_request(request, source=AuditSource.API),
                participant=participant,
                **values,
            )
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(LesionSerializer(lesion).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(parameters=[ParticipantIdFilter]))
class AssessmentViewSet(VersionETagMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AssessmentSerializer

    def get_queryset(self):
        qs = selectors.assessment_list(user=self.request.user)
        pid = validated(ParticipantIdFilter, self.request.query_params).get("participant")
        return qs.filter(participant_id=pid) if pid else qs

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=MeasurementBatchSerializer,
        responses={200: AssessmentSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=MeasurementBatchSerializer)
    @idempotent
    def measurements(self, request, pk=None):
        """Record measurements of this assessment; responses are recomputed and returned."""
        assessment = self.get_object()
        access.require(request.user, services.CAPABILITY, assessment.participant.site_id)
        batch = MeasurementBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        entries = {}
        for e in batch.validated_data["measurements"]:
            entries[e.pop("lesion")] = e
        try:
            services.measurements_record(
                ctx=AuditContext.from_request(request, source=AuditSource.API),
                assessment=assessment,
                entries=entries,
                reason=batch.validated_data["reason"],
            )
        except ValidationError as exc:
            raise as_drf_error(exc) from exc
        assessment.refresh_from_db()
        return Response(AssessmentSerializer(assessment).data)


class MeasurementViewSet(VersionETagMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = MeasurementSerializer

    def get_queryset(self):
        return selectors.measurement_list(user=self.request.user)


class MriParameterSetViewSet(VersionETagMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = MriParameterSetSerializer

    def get_queryset(self):
        return selectors.parameter_set_list(user=self.request.user)


class MaskAnalysisViewSet(VersionETagMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = MaskAnalysisSerializer

    def get_queryset(self):
        return selectors.mask_analysis_list(user=self.request.user)
