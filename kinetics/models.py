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
