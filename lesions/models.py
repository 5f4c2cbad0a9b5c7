"""Lesion registry: the spine that links PET VOIs, MRI ROIs, biopsies and RECIST measurements.

Assessments hold the responses computed by quant.response.recist (RECIST 1.1 and iRECIST) with the rule codes
that fired; MRI parameter sets, derived voxel maps and mask analyses (volume, texture) hang off a lesion.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from trial.models import ClinicalRecord, Participant, Visit


class LesionRole(models.TextChoices):
    TARGET = "target", "Target"
    NON_TARGET = "non_target", "Non-target"
    NEW = "new", "New (appeared after baseline)"


class Lesion(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="lesions")
    label = models.CharField(max_length=16, help_text='Short label unique per participant, e.g. "T1".')
    organ = models.CharField(max_length=60)
    location = models.CharField(max_length=200, blank=True, help_text="Anatomical location detail.")
    nodal = models.BooleanField(default=False)
    role = models.CharField(max_length=12, choices=LesionRole.choices)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["participant", "label"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "label"], name="unique_lesion_label"),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} {self.label} ({self.organ})"


class Modality(models.TextChoices):
    CT = "ct", "CT"
    MRI = "mri", "MRI"
    PET_CT = "pet_ct", "PET/CT (CT part)"


class Assessment(ClinicalRecord):
    """One radiological time point; the earliest non-voided one is the baseline."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="assessments")
    date = models.DateField()
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    modality = models.CharField(max_length=8, choices=Modality.choices, default=Modality.CT)
    notes = models.TextField(blank=True)
    # Stored output of the RECIST engine (recomputed whenever a measurement changes; audited).
    sum_mm = models.FloatField(null=True, blank=True, help_text="Sum of target diameters (mm).")
    nadir_mm = models.FloatField(null=True, blank=True, help_text="Nadir this assessment is compared with.")
    new_lesion_target_sum_mm = models.FloatField(null=True, blank=True)
    target_response = models.CharField(max_length=20, blank=True)
    non_target_response = models.CharField(max_length=20, blank=True)
    new_lesions_present = models.BooleanField(default=False)
    recist_response = models.CharField(max_length=20, blank=True)
    irecist_response = models.CharField(max_length=20, blank=True)
    reasons = models.JSONField(
        default=dict, blank=True, help_text="{category: {code, text}} from the engine."
    )
    engine_error = models.TextField(blank=True)

    class Meta:
        ordering = ["participant", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "date"], condition=Q(voided=False), name="unique_assessment_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} assessment {self.date}"


class MeasurementState(models.TextChoices):
    MEASURED = "measured", "Measured"
    TOO_SMALL = "too_small", "Too small to measure (counts 5 mm)"
    DISAPPEARED = "disappeared", "Disappeared (0 mm)"
    NOT_ASSESSED = "not_assessed", "Not assessed"


class NonTargetState(models.TextChoices):
    PRESENT = "present", "Present"
    ABSENT = "absent", "Absent"
    UNEQUIVOCAL = "unequivocal_progression", "Unequivocal progression"
    NOT_ASSESSED = "not_assessed", "Not assessed"


TOO_SMALL_MM = 5.0


class Measurement(ClinicalRecord):
    """A lesion at an assessment: a diameter (targets, new lesions) and/or a non-target state."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="lesion_measurements")
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="measurements")
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="measurements")
    state = models.CharField(
        max_length=14, choices=MeasurementState.choices, default=MeasurementState.MEASURED
    )
    value_mm = models.DecimalField(
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Longest diameter, or short axis for lymph nodes (mm).",
    )
    non_target_state = models.CharField(max_length=24, choices=NonTargetState.choices, blank=True)

    class Meta:
        ordering = ["assessment__date", "lesion__label"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "lesion"], condition=Q(voided=False), name="unique_measurement"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lesion.label} at {self.assessment.date}: {self.display}"

    @property
    def effective_mm(self) -> float | None:
        """Value used in the sums: too small = 5 mm, disappeared = 0, not assessed = None."""
        if self.state == MeasurementState.TOO_SMALL:
            return TOO_SMALL_MM
        if self.state == MeasurementState.DISAPPEARED:
            return 0.0
        if self.state == MeasurementState.NOT_ASSESSED or self.value_mm is None:
            return None
        return float(self.value_mm)

    @property
    def display(self) -> str:
        if self.non_target_state:
            return self.get_non_target_state_display()
        if self.state == MeasurementState.MEASURED:
            return f"{self.value_mm} mm"
        return self.get_state_display()


class ParticipantResponse(ClinicalRecord):
    """Best overall response per criterion (stored output of the engine)."""

    participant = models.OneToOneField(Participant, on_delete=models.PROTECT, related_name="best_response")
    best_recist = models.CharField(max_length=20, blank=True)
    best_irecist = models.CharField(max_length=20, blank=True)
    progression_date_recist = models.DateField(null=True, blank=True)
    progression_date_irecist = models.DateField(null=True, blank=True)
    reasons = models.JSONField(default=dict, blank=True)
    engine_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.participant.study_id} BOR {self.best_recist}/{self.best_irecist}"


class MriRoi(ClinicalRecord):
    """A region of interest drawn on an MRI of one lesion at one visit."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="mri_rois")
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="mri_rois")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    acquired_on = models.DateField()
    label = models.CharField(max_length=40, default="whole lesion")

    class Meta:
        ordering = ["participant", "acquired_on", "lesion__label"]
        constraints = [
            models.UniqueConstraint(
                fields=["lesion", "acquired_on", "label"], condition=Q(voided=False), name="unique_mri_roi"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lesion.label} {self.label} {self.acquired_on}"


class ParameterKind(models.TextChoices):
    DCE = "dce", "DCE-MRI"
    IVIM = "ivim", "IVIM diffusion"
    DKI = "dki", "Diffusion kurtosis"


class ParameterMethod(models.TextChoices):
    ENTERED = "entered", "Entered by the reader"
    CURVE_FIT = "curve_fit", "Fitted from an uploaded curve"
    VOXELWISE = "voxelwise", "Voxel-wise maps (ROI summary)"


class JobStatus(models.TextChoices):
    DONE = "done", "Done"
    PENDING = "pending", "Pending"
    FAILED = "failed", "Failed"


PARAMETER_FIELDS = (
    "ktrans_per_min",
    "ve",
    "vp",
    "kep_per_min",
    "fp_ml_100ml_min",
    "ps_per_min",
    "ivim_f",
    "ivim_d_mm2_s",
    "ivim_dstar_mm2_s",
    "dki_d_mm2_s",
    "dki_k",
    "iauc60_mm_s",
    "iauc90_mm_s",
    "time_to_peak_s",
    "initial_slope_mm_per_s",
    "washout_fraction",
)

PARAMETER_LABELS = {
    "ktrans_per_min": "Ktrans (/min)",
    "ve": "ve",
    "vp": "vp",
    "kep_per_min": "kep (/min)",
    "fp_ml_100ml_min": "Fp (ml/100ml/min)",
    "ps_per_min": "PS (/min)",
    "ivim_f": "IVIM f",
    "ivim_d_mm2_s": "IVIM D (mm²/s)",
    "ivim_dstar_mm2_s": "IVIM D* (mm²/s)",
    "dki_d_mm2_s": "DKI D (mm²/s)",
    "dki_k": "DKI K",
    "iauc60_mm_s": "iAUC60 (mM·s)",
    "iauc90_mm_s": "iAUC90 (mM·s)",
    "time_to_peak_s": "Time to peak (s)",
    "initial_slope_mm_per_s": "Initial slope (mM/s)",
    "washout_fraction": "Wash-out fraction",
}


class MriParameterSet(ClinicalRecord):
    """Quantitative MRI parameters of one ROI: entered, fitted from a curve, or summarised from maps."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="mri_parameter_sets")
    roi = models.ForeignKey(MriRoi, on_delete=models.PROTECT, related_name="parameter_sets")
    kind = models.CharField(max_length=6, choices=ParameterKind.choices)
    method = models.CharField(max_length=10, choices=ParameterMethod.choices)
    model = models.CharField(max_length=24, blank=True, help_text="tofts, extended_tofts, 2cxm, ivim_...")
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.DONE)
    error = models.TextField(blank=True)
    ktrans_per_min = models.FloatField(null=True, blank=True)
    ve = models.FloatField(null=True, blank=True)
    vp = models.FloatField(null=True, blank=True)
    kep_per_min = models.FloatField(null=True, blank=True)
    fp_ml_100ml_min = models.FloatField(null=True, blank=True)
    ps_per_min = models.FloatField(null=True, blank=True)
    ivim_f = models.FloatField(null=True, blank=True)
    ivim_d_mm2_s = models.FloatField(null=True, blank=True)
    ivim_dstar_mm2_s = models.FloatField(null=True, blank=True)
    dki_d_mm2_s = models.FloatField(null=True, blank=True)
    dki_k = models.FloatField(null=True, blank=True)
    iauc60_mm_s = models.FloatField(null=True, blank=True)
    iauc90_mm_s = models.FloatField(null=True, blank=True)
    time_to_peak_s = models.FloatField(null=True, blank=True)
    initial_slope_mm_per_s = models.FloatField(null=True, blank=True)
    washout_fraction = models.FloatField(null=True, blank=True)
    fit_rms = models.FloatField(null=True, blank=True, help_text="Residual RMS of the fit (mM or signal).")
    fit_success = models.BooleanField(null=True, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    input_file = models.CharField(max_length=300, blank=True, help_text="Path on default storage.")
    mask_file = models.CharField(max_length=300, blank=True, help_text="Path on default storage.")
    aif_file = models.CharField(max_length=300, blank=True, help_text="Path on default storage.")
    mr_roi = models.ForeignKey(
        "mri.MrRoi",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lesion_parameter_sets",
        help_text="The ROI on an MRI map job whose medians these are (method voxel-wise from MR DICOM).",
    )
    voxel_count = models.PositiveIntegerField(null=True, blank=True, help_text="Voxels in the ROI.")
    volume_ml = models.FloatField(null=True, blank=True, help_text="ROI volume: voxel count x voxel volume.")
    spread = models.JSONField(
        default=dict,
        blank=True,
        help_text="{field: {median, q1, q3, mean, sd, n_voxels}} of each map in the ROI.",
    )

    class Meta:
        ordering = ["participant", "roi__acquired_on", "id"]

    def __str__(self) -> str:
        return f"{self.roi} {self.get_kind_display()} ({self.get_method_display()})"

    def values(self) -> dict[str, float]:
        return {f: getattr(self, f) for f in PARAMETER_FIELDS if getattr(self, f) is not None}


class DerivedImage(ClinicalRecord):
    """A voxel-wise parameter map (NIfTI) computed by a worker, with its provenance and ROI statistics."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="derived_images")
    parameter_set = models.ForeignKey(
        MriParameterSet, on_delete=models.PROTECT, related_name="derived_images"
    )
    parameter = models.CharField(max_length=32, help_text="Ktrans_per_min, ve, vp, ...")
    file = models.CharField(max_length=300, blank=True, help_text="Path on default storage.")
    preview = models.CharField(max_length=300, blank=True, help_text="Path on default storage.")
    stats = models.JSONField(default=dict, blank=True)
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["parameter_set", "parameter"]

    def __str__(self) -> str:
        return f"{self.parameter} map of {self.parameter_set.roi}"


class MaskAnalysis(ClinicalRecord):
    """Volume (voxel count and mesh) and optional IBSI texture features of one lesion mask."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="mask_analyses")
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="mask_analyses")
    roi = models.ForeignKey(
        MriRoi, on_delete=models.PROTECT, null=True, blank=True, related_name="mask_analyses"
    )
    acquired_on = models.DateField()
    modality = models.CharField(max_length=8, default="mri")
    mr_roi = models.ForeignKey(
        "mri.MrRoi",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mask_analyses",
        help_text="The ROI on an MRI map job whose mask and map these are (texture of a parameter map).",
    )
    mask_file = models.CharField(max_length=300, blank=True, help_text="Path on default storage.")
    image_file = models.CharField(max_length=300, blank=True, help_text="Path on default storage.")
    bin_width = models.FloatField(null=True, blank=True, help_text="Fixed bin size for texture.")
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.PENDING)
    error = models.TextField(blank=True)
    spacing_mm = models.JSONField(default=list, blank=True)
    voxel_count = models.PositiveIntegerField(null=True, blank=True)
    voxel_volume_mm3 = models.FloatField(null=True, blank=True)
    mesh_volume_mm3 = models.FloatField(null=True, blank=True)
    mesh_area_mm2 = models.FloatField(null=True, blank=True)
    texture_features = models.JSONField(default=dict, blank=True)
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["participant", "acquired_on", "lesion__label"]

    def __str__(self) -> str:
        return f"{self.lesion.label} mask {self.acquired_on}"

    @property
    def voxel_volume_ml(self) -> float | None:
        return None if self.voxel_volume_mm3 is None else self.voxel_volume_mm3 / 1000.0

    @property
    def mesh_volume_ml(self) -> float | None:
        return None if self.mesh_volume_mm3 is None else self.mesh_volume_mm3 / 1000.0
