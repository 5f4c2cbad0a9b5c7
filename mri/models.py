"""MR series uploaded for an MRI scan (de-identified), voxel-wise map jobs and their stored maps."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from imaging.models import Scan
from trial.models import ClinicalRecord, Participant


class SeriesKind(models.TextChoices):
    DCE = "dce", "Dynamic contrast-enhanced (DCE)"
    VFA = "vfa", "Variable flip angle T1 (VFA)"
    DWI = "dwi", "Diffusion-weighted, several b-values (DWI)"
    ANATOMICAL = "anat", "Anatomical (for ROIs)"


class MrSeriesUpload(ClinicalRecord):
    """One validated, de-identified MR series stored on default storage, with what was read before de-identification."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="mr_series_uploads")
    scan = models.ForeignKey(Scan, on_delete=models.PROTECT, related_name="mr_series_uploads")
    kind = models.CharField(max_length=4, choices=SeriesKind.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    storage_dir = models.CharField(max_length=255)
    instance_count = models.PositiveIntegerField()
    total_bytes = models.BigIntegerField()
    series_instance_uid = models.CharField(max_length=64, help_text="De-identified (remapped) UID.")
    description = models.CharField(max_length=128, blank=True)
    source_fingerprint = models.CharField(
        max_length=64, db_index=True, help_text="SHA-256 over the received files' SHA-256."
    )
    stored_checksums = models.JSONField(
        default=list, help_text="SHA-256 of every stored (de-identified) file."
    )
    acquisition = models.JSONField(
        help_text="Grid, volumes, times, b-values, flip angles, TR (read before de-identification)."
    )
    deid_profile = models.JSONField(default=dict)
    intake_report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["scan", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} series of {self.scan}"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Maps ready"
    FAILED = "failed", "Failed"


class MapModel(models.TextChoices):
    TOFTS = "tofts", "Tofts"
    EXTENDED_TOFTS = "extended_tofts", "Extended Tofts"
    TWO_CXM = "2cxm", "Two-compartment exchange (2CXM)"
    IVIM = "ivim", "IVIM (f, D, D*)"
    DKI = "dki", "Diffusion kurtosis (D, K)"


class MrMapJob(ClinicalRecord):
    """A voxel-wise fit of one series (plus a VFA series for T10) run by the worker."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="mr_map_jobs")
    scan = models.ForeignKey(Scan, on_delete=models.PROTECT, related_name="mr_map_jobs")
    series = models.ForeignKey(MrSeriesUpload, on_delete=models.PROTECT, related_name="map_jobs")
    vfa = models.ForeignKey(MrSeriesUpload, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    model = models.CharField(max_length=16, choices=MapModel.choices)
    options = models.JSONField(default=dict, help_text="t10_ms, r1, hematocrit, aif, fit_delay.")
    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    progress = models.FloatField(default=0.0)
    message = models.TextField(blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="Median and spread of each map.")

    class Meta:
        ordering = ["scan", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_model_display()} maps of {self.series}"


class MrMap(ClinicalRecord):
    """One parameter map of a job: NIfTI, DICOM Parametric Map and a PNG preview on default storage."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="mr_maps")
    job = models.ForeignKey(MrMapJob, on_delete=models.PROTECT, related_name="maps")
    parameter = models.CharField(max_length=40)
    label = models.CharField(max_length=60)
    nifti_path = models.CharField(max_length=300)
    parametric_map_path = models.CharField(max_length=300, blank=True)
    preview_path = models.CharField(max_length=300)
    stats = models.JSONField(default=dict)

    class Meta:
        ordering = ["job", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.job})"


class MrRoi(ClinicalRecord):
    """A region (sphere in patient mm, NIfTI mask, DICOM SEG segment or RTSTRUCT ROI) on a job's maps, with each map's median
    and spread inside it."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="mr_rois")
    job = models.ForeignKey(MrMapJob, on_delete=models.PROTECT, related_name="rois")
    name = models.CharField(max_length=40, help_text="e.g. the registry lesion label (T1, N2).")
    source = models.CharField(
        max_length=8,
        choices=[
            ("sphere", "Sphere"),
            ("nifti", "NIfTI mask"),
            ("seg", "DICOM SEG"),
            ("rtstruct", "RTSTRUCT"),
        ],
    )
    definition = models.JSONField(default=dict, blank=True)
    voxel_count = models.PositiveIntegerField()
    stats = models.JSONField(default=dict, help_text="{parameter: {median, q1, q3, mean, sd, n_voxels}}")

    class Meta:
        ordering = ["job", "name", "id"]

    def __str__(self) -> str:
        return f"ROI {self.name} on {self.job}"
