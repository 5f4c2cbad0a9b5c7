"""The casebook: medications, history, vital signs, weight, ECOG, labs, PK and ADA samples, disposition, screening log.

Every clinical model derives from trial.models.ClinicalRecord (voided, never deleted; `version` raised by
each audited change); writes go through casebook.services. LabResult stores its CTCAE v5.0 grade
(quant.labs) on save, which the automatic query "lab grade >= 2 without a matching AE" reads.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from trial.models import ClinicalRecord, Participant, Site, TracerDose, Visit

LAB_TEST_CHOICES = [
    ("NEUT", "Neutrophils"),
    ("PLAT", "Platelets"),
    ("HGB", "Hemoglobin"),
    ("WBC", "Leukocytes"),
    ("LYM", "Lymphocytes"),
    ("ALT", "Alanine aminotransferase"),
    ("AST", "Aspartate aminotransferase"),
    ("BILI", "Bilirubin"),
    ("ALP", "Alkaline phosphatase"),
    ("GGT", "Gamma glutamyl transferase"),
    ("CREAT", "Creatinine"),
    ("LIPASE", "Lipase"),
    ("AMYLASE", "Amylase"),
    ("K", "Potassium"),
    ("SODIUM", "Sodium"),
    ("CA", "Calcium (corrected)"),
    ("MG", "Magnesium"),
    ("GLUC", "Glucose"),
    ("ALB", "Albumin"),
    ("CK", "Creatine kinase"),
    ("TSH", "Thyrotropin (TSH)"),
    ("FT4", "Free thyroxine (FT4)"),
    ("INR", "Prothrombin INR"),
    ("APTT", "Activated partial thromboplastin time"),
]
LAB_UNITS = [
    "10^9/L",
    "/mm3",
    "g/dL",
    "g/L",
    "mmol/L",
    "mg/dL",
    "umol/L",
    "U/L",
    "mU/L",
    "pmol/L",
    "ratio",
    "s",
]


class MedicationCategory(models.TextChoices):
    PRIOR = "prior", "Prior (stopped before the first study procedure)"
    CONCOMITANT = "concomitant", "Concomitant"


class Route(models.TextChoices):
    ORAL = "oral", "Oral"
    IV = "iv", "Intravenous"
    SC = "sc", "Subcutaneous"
    IM = "im", "Intramuscular"
    TOPICAL = "topical", "Topical"
    INHALED = "inhaled", "Inhaled"
    OTHER = "other", "Other"


class WhoDrugEntry(models.Model):
    """A dictionary row loaded by `manage.py load_whodrug` (a sponsor's licensed file, or the demo sample)."""

    drug_code = models.CharField(max_length=20, unique=True)
    drug_name = models.CharField(max_length=200, db_index=True)
    atc_code = models.CharField(max_length=10, blank=True)
    atc_text = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=100, blank=True, help_text="File and version it was loaded from.")

    class Meta:
        ordering = ["drug_name"]
        verbose_name = "WHODrug entry"
        verbose_name_plural = "WHODrug entries"

    def __str__(self) -> str:
        return f"{self.drug_name} ({self.drug_code})"


class Medication(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="medications")
    category = models.CharField(max_length=12, choices=MedicationCategory.choices)
    name = models.CharField("medication name", max_length=200)
    indication = models.CharField(max_length=200)
    dose = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    dose_unit = models.CharField(max_length=20, blank=True)
    route = models.CharField(max_length=10, choices=Route.choices)
    frequency = models.CharField(
        max_length=60, blank=True, help_text='For example "once daily", "as needed".'
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    ongoing = models.BooleanField(default=False)
    whodrug_code = models.CharField("WHODrug code", max_length=20, blank=True)
    atc_code = models.CharField("ATC code", max_length=10, blank=True)
    is_systemic_steroid = models.BooleanField(
        "systemic corticosteroid",
        default=False,
        help_text="Named by the exclusion criteria; immune-related AEs.",
    )

    class Meta:
        ordering = ["-ongoing", "-start_date", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_category_display().split(' (')[0].lower()})"


class MedicalHistory(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="medical_history")
    term = models.CharField("condition", max_length=200)
    meddra_code = models.CharField("MedDRA code", max_length=10, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    ongoing = models.BooleanField(default=False)
    autoimmune = models.BooleanField("autoimmune disease", default=False)

    class Meta:
        ordering = ["-ongoing", "start_date", "id"]
        verbose_name = "medical history entry"
        verbose_name_plural = "medical history"

    def __str__(self) -> str:
        return self.term


class Pdl1Status(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    UNKNOWN = "unknown", "Unknown / not tested"


class CancerHistory(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="cancer_history")
    histology = models.CharField(max_length=200)
    diagnosis_date = models.DateField(null=True, blank=True)
    stage = models.CharField(max_length=40, help_text='For example "IV" or "T3N1M1".')
    sites_of_disease = models.CharField(max_length=300, help_text="Sites at study entry, comma separated.")
    pdl1_status = models.CharField("PD-L1 status", max_length=10, choices=Pdl1Status.choices)
    pdl1_score = models.CharField(
        "PD-L1 score", max_length=40, blank=True, help_text='For example "TPS 60%".'
    )

    class Meta:
        ordering = ["diagnosis_date", "id"]
        verbose_name_plural = "cancer history"

    def __str__(self) -> str:
        return f"{self.histology}, stage {self.stage}"


class BestResponse(models.TextChoices):
    CR = "CR", "Complete response"
    PR = "PR", "Partial response"
    SD = "SD", "Stable disease"
    PD = "PD", "Progressive disease"
    NE = "NE", "Not evaluable / unknown"


class PriorTherapyLine(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="prior_therapy_lines")
    line_number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(20)])
    regimen = models.CharField(max_length=200)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    best_response = models.CharField(max_length=2, choices=BestResponse.choices)

    class Meta:
        ordering = ["line_number", "id"]

    def __str__(self) -> str:
        return f"Line {self.line_number}: {self.regimen}"


class VitalsTimepoint(models.TextChoices):
    PRE_INFUSION = "pre_infusion", "Before tracer infusion"
    POST_INFUSION = "post_infusion", "After tracer infusion"
    VISIT = "visit", "At the visit (no infusion)"


class VitalSigns(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="vital_signs")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    tracer_dose = models.ForeignKey(
        TracerDose,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="tracer infusion",
    )
    timepoint = models.CharField(max_length=16, choices=VitalsTimepoint.choices)
    measured_at = models.DateTimeField(help_text="Stored in UTC, entered in the site's time zone.")
    systolic_mmhg = models.PositiveSmallIntegerField(
        "systolic BP (mmHg)", validators=[MinValueValidator(50), MaxValueValidator(260)]
    )
    diastolic_mmhg = models.PositiveSmallIntegerField(
        "diastolic BP (mmHg)", validators=[MinValueValidator(20), MaxValueValidator(160)]
    )
    pulse_bpm = models.PositiveSmallIntegerField(
        "pulse (/min)", validators=[MinValueValidator(20), MaxValueValidator(250)]
    )
    temperature_c = models.DecimalField(
        "temperature (°C)",
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("30")), MaxValueValidator(Decimal("43"))],
    )
    respiratory_rate = models.PositiveSmallIntegerField(
        "respiratory rate (/min)",
        null=True,
        blank=True,
        validators=[MinValueValidator(4), MaxValueValidator(80)],
    )
    spo2_pct = models.PositiveSmallIntegerField(
        "SpO2 (%)", null=True, blank=True, validators=[MinValueValidator(50), MaxValueValidator(100)]
    )

    class Meta:
        ordering = ["measured_at", "id"]
        verbose_name = "vital signs"
        verbose_name_plural = "vital signs"

    def __str__(self) -> str:
        return f"Vital signs {self.get_timepoint_display().lower()} ({self.systolic_mmhg}/{self.diastolic_mmhg} mmHg)"


class BodyMeasurement(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="body_measurements")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    measured_on = models.DateField()
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("25")), MaxValueValidator(Decimal("300"))],
    )
    height_cm = models.DecimalField(
        "height (cm)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("100")), MaxValueValidator(Decimal("250"))],
    )

    class Meta:
        ordering = ["measured_on", "id"]
        verbose_name = "weight and height"
        verbose_name_plural = "weight and height"

    def __str__(self) -> str:
        return f"{self.weight_kg} kg on {self.measured_on:%Y-%m-%d}"


class EcogAssessment(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="ecog_assessments")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    assessed_on = models.DateField()
    score = models.PositiveSmallIntegerField(
        "ECOG performance status",
        choices=[
            (0, "0 — Fully active"),
            (1, "1 — Restricted in strenuous activity"),
            (2, "2 — Ambulatory, up > 50% of waking hours"),
            (3, "3 — Limited self-care, in bed > 50%"),
            (4, "4 — Completely disabled"),
            (5, "5 — Dead"),
        ],
    )

    class Meta:
        ordering = ["assessed_on", "id"]
        verbose_name = "ECOG assessment"

    def __str__(self) -> str:
        return f"ECOG {self.score} on {self.assessed_on:%Y-%m-%d}"


class LabPanel(models.TextChoices):
    HAEMATOLOGY = "haematology", "Haematology"
    CHEMISTRY = "chemistry", "Chemistry"
    THYROID = "thyroid", "Thyroid"
    COAGULATION = "coagulation", "Coagulation"


class LabResult(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="lab_results")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    panel = models.CharField(max_length=12, choices=LabPanel.choices)
    collected_on = models.DateField()
    test_code = models.CharField("test", max_length=8, choices=LAB_TEST_CHOICES)
    value = models.DecimalField(max_digits=12, decimal_places=4, validators=[MinValueValidator(Decimal("0"))])
    unit = models.CharField(max_length=10, choices=[(u, u) for u in LAB_UNITS])
    lln = models.DecimalField("lower limit of normal", max_digits=12, decimal_places=4, null=True, blank=True)
    uln = models.DecimalField("upper limit of normal", max_digits=12, decimal_places=4, null=True, blank=True)
    is_baseline = models.BooleanField(
        "baseline result", default=False, help_text="Tick for the result taken as this test's baseline."
    )
    baseline_value = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        editable=False,
        help_text="The participant's baseline result of this test used for grading (derived).",
    )
    ctcae_grade = models.PositiveSmallIntegerField(
        "CTCAE grade",
        default=0,
        editable=False,
        validators=[MaxValueValidator(4)],
        help_text="0 = not graded.",
    )
    direction = models.CharField(
        max_length=4, blank=True, editable=False, choices=[("low", "Low"), ("high", "High")]
    )
    ctcae_term = models.CharField("CTCAE term", max_length=100, blank=True, editable=False)
    grade_note = models.CharField(
        max_length=300, blank=True, editable=False, help_text="Why not graded, or the criterion."
    )

    class Meta:
        ordering = ["collected_on", "test_code", "id"]

    def __str__(self) -> str:
        return f"{self.get_test_code_display()} {self.value.normalize():f} {self.unit} on {self.collected_on:%Y-%m-%d}"


class PkSample(ClinicalRecord):
    """Serum sample for tracer PK: counts in a gamma counter -> Bq/mL decay-corrected to the injection."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="pk_samples")
    tracer_dose = models.ForeignKey(
        TracerDose, on_delete=models.PROTECT, related_name="+", verbose_name="tracer injection"
    )
    nominal_timepoint = models.CharField(
        max_length=40, help_text='For example "5 min", "30 min", "day 7 scan".'
    )
    sampled_at = models.DateTimeField()
    counted_at = models.DateTimeField(help_text="Start of the gamma-counter measurement.")
    sample_volume_ml = models.DecimalField(
        max_digits=6, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    gross_counts = models.PositiveBigIntegerField()
    background_counts = models.PositiveBigIntegerField(default=0, help_text="Over the same counting time.")
    count_time_s = models.DecimalField(
        "counting time (s)", max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    counter_efficiency = models.DecimalField(
        max_digits=6,
        decimal_places=5,
        validators=[MinValueValidator(Decimal("0.00001")), MaxValueValidator(Decimal("1"))],
        help_text="Counts per decay for 89Zr in this counter window (0-1).",
    )
    calibration_factor = models.DecimalField(
        max_digits=8,
        decimal_places=5,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.00001"))],
        help_text="Cross-calibration to the dose calibrator (dimensionless, 1 = none).",
    )
    minutes_after_injection = models.DecimalField(max_digits=10, decimal_places=2, editable=False, null=True)
    activity_bq_per_ml = models.DecimalField(
        "activity at injection (Bq/mL)", max_digits=14, decimal_places=3, editable=False, null=True
    )

    class Meta:
        ordering = ["sampled_at", "id"]
        verbose_name = "PK sample"

    def __str__(self) -> str:
        return f"PK sample {self.nominal_timepoint}"


class AdaResult(models.TextChoices):
    PENDING = "pending", "Pending"
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"


class AdaSample(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="ada_samples")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    collected_on = models.DateField()
    sample_id = models.CharField(max_length=40)
    result = models.CharField(max_length=8, choices=AdaResult.choices, default=AdaResult.PENDING)
    titre = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["collected_on", "id"]
        verbose_name = "anti-drug antibody sample"

    def __str__(self) -> str:
        return f"ADA sample {self.sample_id}"


class DispositionStatus(models.TextChoices):
    COMPLETED = "completed", "Completed the study"
    ADVERSE_EVENT = "adverse_event", "Adverse event"
    PROGRESSION = "progression", "Disease progression"
    WITHDREW_CONSENT = "withdrew_consent", "Withdrew consent"
    LOST = "lost", "Lost to follow-up"
    PHYSICIAN = "physician", "Physician decision"
    DEATH = "death", "Death"
    OTHER = "other", "Other"


class Disposition(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="dispositions")
    status = models.CharField("end of study reason", max_length=20, choices=DispositionStatus.choices)
    end_date = models.DateField("end of study date")
    last_contact_date = models.DateField(null=True, blank=True)
    details = models.TextField(blank=True)
    death_date = models.DateField(null=True, blank=True)
    death_cause = models.CharField("cause of death", max_length=200, blank=True)

    class Meta:
        ordering = ["end_date", "id"]
        verbose_name = "end of study"

    def __str__(self) -> str:
        return f"End of study: {self.get_status_display().lower()}"


class AgeBand(models.TextChoices):
    A18_39 = "18-39", "18-39"
    A40_49 = "40-49", "40-49"
    A50_59 = "50-59", "50-59"
    A60_69 = "60-69", "60-69"
    A70_79 = "70-79", "70-79"
    A80 = "80+", "80 or over"


class ScreeningLogEntry(ClinicalRecord):
    """A screened candidate who did not enrol: no direct identifiers (site, date, age band, failed criteria)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="screening_log")
    screened_on = models.DateField()
    age_band = models.CharField(max_length=5, choices=AgeBand.choices)
    failed_criteria = models.JSONField(default=list, blank=True, help_text="Codes of the criteria not met.")
    other_reason = models.CharField(max_length=200, blank=True, help_text="For example declined consent.")

    class Meta:
        ordering = ["-screened_on", "id"]
        verbose_name = "screening log entry"
        verbose_name_plural = "screening log"

    def __str__(self) -> str:
        return f"Screen failure {self.site.code} {self.screened_on:%Y-%m-%d}"
