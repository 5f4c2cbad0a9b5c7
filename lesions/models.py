"""Lesion registry: the spine that links PET VOIs, MRI ROIs, biopsies and RECIST measurements."""

from __future__ import annotations

from django.db import models

from trial.models import ClinicalRecord, Participant


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
