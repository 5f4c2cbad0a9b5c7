"""Read API for sites, participants, visits and doses (thin; scoping in selectors)."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from trial import access, selectors
from trial.models import AntiPD1Dose, Participant, ParticipantStatusChange, Site, TracerDose, Visit


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "code", "name", "country", "time_zone"]


class StatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ParticipantStatusChange
        fields = ["from_status", "to_status", "date", "reason", "changed_at"]


class ParticipantSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status_history = StatusChangeSerializer(many=True, read_only=True)

    class Meta:
        model = Participant
        fields = [
            "id",
            "study_id",
            "site",
            "year_of_birth",
            "sex",
            "height_cm",
            "weight_kg",
            "tumour_type",
            "planned_anti_pd1",
            "status",
            "status_date",
            "status_history",
            "voided",
            "created_at",
            "updated_at",
        ]


class VisitSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "participant",
            "code",
            "name",
            "kind",
            "planned_date",
            "window_before",
            "window_after",
            "actual_date",
            "status",
            "out_of_window",
            "out_of_window_reason",
            "voided",
            "updated_at",
        ]


class TracerDoseSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)
    net_injected_mbq = serializers.DecimalField(max_digits=7, decimal_places=2, read_only=True)

    class Meta:
        model = TracerDose
        fields = [
            "id",
            "participant",
            "visit",
            "administered_at",
            "activity_before_mbq",
            "residual_mbq",
            "net_injected_mbq",
            "mass_dose_mg",
            "batch",
            "voided",
            "updated_at",
        ]


class AntiPD1DoseSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)

    class Meta:
        model = AntiPD1Dose
        fields = ["id", "participant", "visit", "drug", "dose_mg", "administered_at", "voided", "updated_at"]


class SiteViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SiteSerializer

    def get_queryset(self):
        return access.sites_visible_to(self.request.user).order_by("code")


class ParticipantViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ParticipantSerializer

    def get_queryset(self):
        return selectors.participant_list(
            user=self.request.user,
            filters={"include_voided": "1", "site": self.request.query_params.get("site", "")},
        ).prefetch_related("status_history")


class VisitViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = VisitSerializer

    def get_queryset(self):
        return selectors.visit_list(user=self.request.user).order_by("id")


class TracerDoseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TracerDoseSerializer

    def get_queryset(self):
        return selectors.tracer_dose_list(user=self.request.user).order_by("id")


class AntiPD1DoseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AntiPD1DoseSerializer

    def get_queryset(self):
        return selectors.anti_pd1_dose_list(user=self.request.user).order_by("id")
