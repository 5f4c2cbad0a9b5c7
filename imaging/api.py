"""PET API: read scans, uploads, findings, VOIs and results; multipart series upload for radiologists."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from imaging import selectors, services
from imaging.models import Finding, LinkedCt, Scan, SeriesUpload, Voi, VoiResult
from imaging.services.ct_upload import ct_upload_link
from imaging.upload import (
    UploadRefused,
    streamed_upload,
)
from trial import access
from trial.api_errors import as_drf_error
from trial.api_versions import VersionETagMixin
from trial.audit import AuditContext
from trial.models import AuditSource


class ScanSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)
    visit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    planned_date = serializers.DateField(source="visit.planned_date", read_only=True)
    latest_upload = serializers.SerializerMethodField()

    class Meta:
        model = Scan
        fields = [
            "id",
            "participant",
            "visit",
            "modality",
            "planned_date",
            "tracer_visit_code",
            "planned_hours_post_injection",
            "window_hours_before",
            "window_hours_after",
            "status",
            "acquired_at",
            "latest_upload",
            "voided",
            "updated_at",
        ]

    def get_latest_upload(self, scan: Scan) -> dict | None:
        # The list prefetches the uploads (no query per scan); a single scan reads its latest one.
        prefetched = getattr(scan, "live_uploads_newest_first", None)
        if prefetched is not None:
            upload = prefetched[0] if prefetched else None
        else:
            upload = selectors.latest_upload(scan)
        if upload is None:
            return None
        return {
            "id": upload.pk,
            "state": upload.state,
            "progress": upload.progress,
            "message": upload.state_message,
        }


class SeriesUploadSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)

    class Meta:
        model = SeriesUpload
        fields = [
            "id",
            "participant",
            "scan",
            "instance_count",
            "total_bytes",
            "series_instance_uid",
            "study_instance_uid",
            "frame_of_reference_uid",
            "source_fingerprint",
            "geometry",
            "suv_before_deid",
            "suv_after_deid",
            "suv_parameters",
            "deid_profile",
            "state",
            "progress",
            "state_message",
            "processed_at",
            "suv_summary",
            "voided",
            "created_at",
        ]


class FindingSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "participant",
            "scan",
            "upload",
            "code",
            "severity",
            "message",
            "details",
            "acknowledged",
            "acknowledged_at",
            "acknowledgement_note",
            "voided",
            "created_at",
        ]


class VoiSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)

    class Meta:
        model = Voi
        fields = [
            "id",
            "participant",
            "scan",
            "upload",
            "name",
            "kind",
            "organ",
            "source",
            "parameters",
            "voxel_count",
            "lesion",
            "voided",
            "created_at",
        ]


class VoiResultSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)
    scan = serializers.IntegerField(source="voi.scan_id", read_only=True)
    name = serializers.CharField(source="voi.name", read_only=True)

    class Meta:
        model = VoiResult
        fields = [
            "id",
            "voi",
            "scan",
            "name",
            "participant",
            "suv_max",
            "suv_mean",
            "suv_peak",
            "pct_id_per_kg_mean",
            "pct_id_per_kg_max",
            "volume_ml",
            "metrics",
            "provenance",
            "computed_at",
        ]


class LinkedCtSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(slug_field="study_id", read_only=True)

    class Meta:
        model = LinkedCt
        fields = [
            "id",
            "participant",
            "scan",
            "upload",
            "instance_count",
            "total_bytes",
            "series_instance_uid",
            "study_instance_uid",
            "frame_of_reference_uid",
            "series_description",
            "source_fingerprint",
            "geometry",
            "link_reason",
            "deid_profile",
            "voided",
            "created_at",
        ]


class UploadInputSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text="DICOM files of one series, or a single zip.",
    )
    series_instance_uid = serializers.CharField(required=False, allow_blank=True, max_length=64)


class ScanViewSet(VersionETagMixin, viewsets.ReadOnlyModelViewSet):
    """Scans (PET, MRI); POST /pet-scans/{id}/upload/ stores one validated, de-identified PET series and
    POST /pet-scans/{id}/ct/ links the CT of its PET/CT uploaded afterwards."""

    serializer_class = ScanSerializer

    def get_queryset(self):
        return selectors.prefetch_latest_upload(selectors.scan_list(user=self.request.user)).order_by("id")

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            return super().dispatch(request, *args, **kwargs)
        with streamed_upload(request) as stream:
            self._stream = stream
            return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": UploadInputSerializer}, responses={201: SeriesUploadSerializer}
    )
    @action(detail=True, methods=["post"], serializer_class=UploadInputSerializer)
    def upload(self, request, pk=None):
        scan = selectors.scan_get(user=request.user, pk=pk)
        access.require(request.user, "imaging", scan.participant.site_id)
        upload = self._with_received_files(
            request,
            lambda work_dir, files: services.series_upload_ingest(
                ctx=AuditContext.from_request(request, source=AuditSource.API),
                scan=scan,
                files=files,
                work_dir=work_dir,
                series_uid=request.data.get("series_instance_uid") or None,
            ),
        )
        return Response(SeriesUploadSerializer(upload).data, status=status.HTTP_201_CREATED)

    def _with_received_files(self, request, ingest):
        """Run `ingest(work_dir, files)` on the streamed upload (zips and CD layouts expanded); refusals as 400
        with field errors (a lock goes on to the API's 423 answer)."""
        try:
            return ingest(self._stream.tmp, self._stream.candidates(request))
        except UploadRefused as exc:
            raise serializers.ValidationError({"files": [str(exc)]}) from exc
        except ValidationError as exc:
            raise as_drf_error(exc) from exc

    @extend_schema(
        request={"multipart/form-data": UploadInputSerializer},
        responses={201: LinkedCtSerializer, 200: LinkedCtSerializer},
        description="The CT of this PET/CT uploaded after its PET series: validated, de-identified with the PET's "
        "keys and linked (201); the same CT again answers with the existing link (200); 423 when locked.",
    )
    @action(detail=True, methods=["post"], serializer_class=UploadInputSerializer, url_path="ct")
    def ct(self, request, pk=None):
        scan = selectors.scan_get(user=request.user, pk=pk)
        access.require(request.user, "imaging", scan.participant.site_id)
        link = self._with_received_files(
            request,
            lambda work_dir, files: ct_upload_link(
                ctx=AuditContext.from_request(request, source=AuditSource.API),
                scan=scan,
                files=files,
                work_dir=work_dir,
                series_uid=request.data.get("series_instance_uid") or None,
            ),
        )
        code = status.HTTP_201_CREATED if link.created else status.HTTP_200_OK
        return Response(LinkedCtSerializer(link.linked).data, status=code)


class SeriesUploadViewSet(VersionETagMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SeriesUploadSerializer

    def get_queryset(self):
        return selectors.upload_list(user=self.request.user).order_by("id")


class FindingViewSet(VersionETagMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = FindingSerializer

    def get_queryset(self):
        return selectors.finding_list(user=self.request.user).order_by("id")


class VoiViewSet(VersionETagMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = VoiSerializer

    def get_queryset(self):
        return selectors.voi_list(user=self.request.user).order_by("id")


class VoiResultViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = VoiResultSerializer

    def get_queryset(self):
        return selectors.voi_result_list(user=self.request.user).order_by("id")
