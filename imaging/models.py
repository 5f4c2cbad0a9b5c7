"""PET scheduling, de-identified series uploads, findings, VOIs and their results.

MRI map storage lives elsewhere (imaging/models_mri.py) so this module stays the PET side.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from trial.models import ClinicalRecord, Participant, Visit


class Modality(models.TextChoices):
    PET = "PT", "PET"
    MRI = "MR", "MRI"


class ScanStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ACQUIRED = "acquired", "Acquired"
    UPLOADED = "uploaded", "Uploaded"
    REJECTED = "rejected", "Rejected"
    ANALYSED = "analysed", "Analysed"


class Scan(ClinicalRecord):
    """One planned PET or MRI acquisition of a visit, timed relative to the tracer injection."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="scans")
    visit = models.OneToOneField(Visit, on_delete=models.PROTECT, related_name="scan")
    modality = models.CharField(max_length=2, choices=Modality.choices)
    tracer_visit_code = models.CharField(max_length=40, help_text="Visit of the tracer injection it follows.")
    planned_hours_post_injection = models.FloatField(null=True, blank=True)
    window_hours_before = models.FloatField(default=0)
    window_hours_after = models.FloatField(default=0)
    status = models.CharField(max_length=10, choices=ScanStatus.choices, default=ScanStatus.SCHEDULED)
    acquired_at = models.DateTimeField(null=True, blank=True, help_text="Scan reference time (UTC).")

    class Meta:
        ordering = ["participant", "visit__planned_date", "id"]

    def __str__(self) -> str:
        return f"{self.participant.study_id} {self.visit.code} {self.get_modality_display()}"

    @property
    def phase(self) -> str:
        """'baseline' or 'on_treatment' from the visit code."""
        return "on_treatment" if self.visit.code.startswith("OT_") else "baseline"


class UploadState(models.TextChoices):
    STORED = "stored", "Stored, waiting for the worker"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Results ready"
    FAILED = "failed", "Processing failed"
    BLOCKED = "blocked", "Blocked by a finding"


class SeriesUpload(ClinicalRecord):
    """A validated, de-identified PET series stored on default storage."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="series_uploads")
    scan = models.ForeignKey(Scan, on_delete=models.PROTECT, related_name="uploads")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    storage_dir = models.CharField(max_length=255)
    instance_count = models.PositiveIntegerField()
    total_bytes = models.BigIntegerField()
    series_instance_uid = models.CharField(max_length=64, help_text="De-identified (remapped) UID.")
    study_instance_uid = models.CharField(max_length=64)
    frame_of_reference_uid = models.CharField(max_length=64)
    source_fingerprint = models.CharField(
        max_length=64, db_index=True, help_text="SHA-256 over the sorted SHA-256 of every received instance."
    )
    geometry = models.JSONField(help_text="Shape, spacing, affine, SOP instance UIDs in z order.")
    suv_before_deid = models.JSONField(
        help_text="SUV factor and decay interval computed on the received files."
    )
    suv_after_deid = models.JSONField(help_text="The same computed on the stored de-identified files.")
    suv_parameters = models.JSONField(
        help_text="Injection time, activity and weight used, with their sources."
    )
    deid_profile = models.JSONField(default=dict)
    intake_report = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the upload held besides the series used: ignored files with reasons, other series, "
        "transfer syntaxes and lossy compression.",
    )
    state = models.CharField(max_length=12, choices=UploadState.choices, default=UploadState.STORED)
    progress = models.PositiveSmallIntegerField(default=0)
    state_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    mip_path = models.CharField(max_length=255, blank=True)
    mip_window = models.JSONField(default=dict, blank=True)
    suv_summary = models.JSONField(default=dict, blank=True, help_text="Whole-volume SUV statistics.")
    series_fingerprint = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        help_text="SHA-256 of the received SeriesInstanceUID: one live upload per scan and series.",
    )
    override_reason = models.TextField(blank=True, help_text="Why a blocked upload was let through.")
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    override_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scan", "series_fingerprint"],
                condition=models.Q(voided=False) & ~models.Q(state__in=["failed", "blocked"]),
                name="unique_live_series_upload",
                violation_error_message="This series already has a live upload for this scan.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scan} upload #{self.pk}"


class StoredInstance(models.Model):
    """One de-identified DICOM file with checksums of what was received and what is stored."""

    upload = models.ForeignKey(SeriesUpload, on_delete=models.PROTECT, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64)
    path = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, help_text="Of the stored de-identified file.")
    source_sha256 = models.CharField(
        max_length=64, db_index=True, help_text="Of the received file (hash only)."
    )
    size = models.PositiveIntegerField()
    z_index = models.PositiveIntegerField()

    class Meta:
        ordering = ["upload", "z_index"]

    def __str__(self) -> str:
        return f"upload #{self.upload_id} slice {self.z_index}"


class LinkedCt(ClinicalRecord):
    """The CT of a PET/CT uploaded with the PET series: validated, de-identified with the participant's same UID
    key and profile as the PET (so its FrameOfReferenceUID stays equal to the PET's), stored and checksummed."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="linked_cts")
    scan = models.ForeignKey(Scan, on_delete=models.PROTECT, related_name="linked_cts")
    upload = models.ForeignKey(SeriesUpload, on_delete=models.PROTECT, related_name="linked_cts")
    storage_dir = models.CharField(max_length=255)
    instance_count = models.PositiveIntegerField()
    total_bytes = models.BigIntegerField()
    series_instance_uid = models.CharField(max_length=64, help_text="De-identified (remapped) UID.")
    study_instance_uid = models.CharField(max_length=64)
    frame_of_reference_uid = models.CharField(max_length=64)
    series_description = models.CharField(max_length=128, blank=True)
    source_fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 over the sorted SHA-256 of every received CT instance."
    )
    geometry = models.JSONField(help_text="Shape, spacing, affine, SOP instance UIDs in z order.")
    link_reason = models.CharField(max_length=200, help_text="Why this CT belongs to the PET series.")
    deid_profile = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"CT of upload #{self.upload_id}"


class CtInstance(models.Model):
    """One de-identified CT DICOM file with checksums of what was received and what is stored."""

    ct = models.ForeignKey(LinkedCt, on_delete=models.PROTECT, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64)
    path = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, help_text="Of the stored de-identified file.")
    source_sha256 = models.CharField(max_length=64, help_text="Of the received file (hash only).")
    size = models.PositiveIntegerField()
    z_index = models.PositiveIntegerField()

    class Meta:
        ordering = ["ct", "z_index"]

    def __str__(self) -> str:
        return f"CT #{self.ct_id} slice {self.z_index}"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class Finding(ClinicalRecord):
    """A trial cross-check raised on upload (dose, time, weight, window, radionuclide)."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="imaging_findings")
    scan = models.ForeignKey(Scan, on_delete=models.PROTECT, related_name="findings")
    upload = models.ForeignKey(
        SeriesUpload, on_delete=models.PROTECT, null=True, blank=True, related_name="findings"
    )
    code = models.CharField(max_length=40)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    acknowledged = models.BooleanField(default=False)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.code}: {self.message[:80]}"


class VoiKind(models.TextChoices):
    ORGAN = "organ", "Organ"
    LESION = "lesion", "Tumour lesion"


class VoiSource(models.TextChoices):
    SPHERE = "sphere", "Sphere"
    NIFTI = "nifti", "NIfTI mask"
    RTSTRUCT = "rtstruct", "RTSTRUCT contour"
    SEG = "seg", "DICOM SEG"


class Organ(models.TextChoices):
    LIVER = "liver", "Liver"
    SPLEEN = "spleen", "Spleen"
    BONE_MARROW = "bone_marrow", "Bone marrow"
    BLOOD_POOL = "blood_pool", "Blood pool"
    KIDNEY = "kidney", "Kidney"
    LUNG = "lung", "Lung"
    MUSCLE = "muscle", "Muscle"
    LYMPH_NODE = "lymph_node", "Lymph node"


class Voi(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="vois")
    scan = models.ForeignKey(Scan, on_delete=models.PROTECT, related_name="vois")
    upload = models.ForeignKey(SeriesUpload, on_delete=models.PROTECT, related_name="vois")
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=VoiKind.choices)
    organ = models.CharField(max_length=16, choices=Organ.choices, blank=True)
    source = models.CharField(max_length=10, choices=VoiSource.choices)
    parameters = models.JSONField(
        default=dict, help_text="Sphere centre/radius (mm) or mask file and ROI/segment."
    )
    mask_path = models.CharField(max_length=255, blank=True)
    mask_sha256 = models.CharField(max_length=64, blank=True)
    voxel_count = models.PositiveIntegerField(default=0)
    lesion = models.ForeignKey(
        "lesions.Lesion", on_delete=models.PROTECT, null=True, blank=True, related_name="pet_vois"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["scan", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["upload", "name"], condition=models.Q(voided=False), name="unique_active_voi_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scan} VOI {self.name}"


class VoiResult(models.Model):
    """Metrics of one VOI on one upload; recomputed in place (one row per VOI) by the worker."""

    voi = models.OneToOneField(Voi, on_delete=models.PROTECT, related_name="result")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    suv_max = models.FloatField()
    suv_mean = models.FloatField()
    suv_peak = models.FloatField()
    pct_id_per_kg_mean = models.FloatField()
    pct_id_per_kg_max = models.FloatField()
    volume_ml = models.FloatField()
    metrics = models.JSONField()
    provenance = models.JSONField(help_text="Engine version, input checksums, parameters, formula.")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["voi"]

    def __str__(self) -> str:
        return f"result of VOI #{self.voi_id}"
