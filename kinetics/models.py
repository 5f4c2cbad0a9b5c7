"""Records of the PK side: the TIAC (residence-time) exports handed to dosimetry software, with method.

Curves and fits are computed from the stored VOI results on demand (imaging.VoiResult); what is stored here
is what left the system, so a dose estimate can be traced back to the numbers and method it used.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from trial.models import ClinicalRecord, Participant


class TiacMethod(models.TextChoices):
    TRAPEZOID = "trapezoid", "Trapezoids + physical-decay tail"
    MONO_FIT = "mono_fit", "Mono-exponential fit with 89Zr decay"


class DosimetryExport(ClinicalRecord):
    """One TIAC CSV (organ, TIAC in hours) exported for one tracer injection of a participant."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="dosimetry_exports")
    tracer_visit_code = models.CharField(max_length=40, help_text="Injection the curves follow.")
    method = models.CharField(max_length=10, choices=TiacMethod.choices)
    method_text = models.TextField(help_text="Integration, organ activity and remainder conventions used.")
    rows = models.JSONField(help_text="[[organ, TIAC h, n points, activity source], ...] as exported.")
    data_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the exported CSV bytes.")
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.participant.study_id} {self.tracer_visit_code} TIAC export ({self.method})"


class PkParameter(ClinicalRecord):
    """One PK parameter of one curve (participant, tracer injection, serum/organ/lesion series), as computed by
    kinetics.services.pk_parameters_refresh with quant.pk from the stored VOI results and serum samples.

    Stored, not recomputed at export, so that SDTM PP and the sponsor resource give exactly the audited values
    (with the method and a checksum of their inputs) and a refresh that changes a value leaves an audit entry.
    A value that is no longer computed is voided, never deleted.
    """

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="pk_parameters")
    tracer_visit_code = models.CharField(max_length=40, help_text="Injection the curve follows.")
    series_key = models.CharField(max_length=80, help_text="serum, an organ code or lesion:<label>.")
    series_label = models.CharField(max_length=120)
    category = models.CharField(max_length=8, help_text="serum | image")
    quantity = models.CharField(max_length=10, help_text="bq_ml | suv_mean | tiac")
    specimen = models.CharField(max_length=40, help_text="SDTM PPSPEC: SERUM or the organ (TUMOR TISSUE).")
    test_code = models.CharField(max_length=8, help_text="SDTM PPTESTCD.")
    test_name = models.CharField(max_length=40, help_text="SDTM PPTEST.")
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    not_done_reason = models.CharField(max_length=200, blank=True)
    fit_model = models.CharField(max_length=12, help_text="mono | bi (fits) or the TIAC method.")
    n_points = models.PositiveIntegerField()
    method = models.TextField(help_text="Conventions and software the value was computed with.")
    inputs_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the curve data and method version.")

    class Meta:
        ordering = ["participant", "tracer_visit_code", "series_key", "quantity", "id"]
        indexes = [models.Index(fields=["participant", "voided"], name="kinetics_pkparam_live")]

    def __str__(self) -> str:
        return f"{self.participant.study_id} {self.tracer_visit_code} {self.series_key} {self.test_code}"
