"""A sponsor's licensed MedDRA release, loaded by `manage.py load_meddra DIR` (reference data, not clinical data:
nothing of MedDRA ships with the project). One row per lowest level term with its primary hierarchy."""

from __future__ import annotations

from django.db import models


class MeddraRelease(models.Model):
    version = models.CharField(max_length=16, unique=True, help_text='MedDRA version, e.g. "27.1".')
    language = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=300, help_text="Folder the ASCII files were read from.")
    checksums = models.JSONField(default=dict, help_text="SHA-256 of every file read.")
    loaded_at = models.DateTimeField(auto_now=True)
    is_current = models.BooleanField(default=False, help_text="The release SDTM coding uses.")

    class Meta:
        ordering = ["-loaded_at"]

    def __str__(self) -> str:
        return f"MedDRA {self.version}"


class MeddraTerm(models.Model):
    release = models.ForeignKey(MeddraRelease, on_delete=models.CASCADE, related_name="terms")
    llt_code = models.PositiveIntegerField()
    llt_name = models.CharField(max_length=100)
    llt_current = models.BooleanField(default=True)
    pt_code = models.PositiveIntegerField()
    pt_name = models.CharField(max_length=100)
    hlt_code = models.PositiveIntegerField()
    hlt_name = models.CharField(max_length=100)
    hlgt_code = models.PositiveIntegerField()
    hlgt_name = models.CharField(max_length=100)
    soc_code = models.PositiveIntegerField(help_text="Primary SOC of the PT.")
    soc_name = models.CharField(max_length=100)
    soc_abbrev = models.CharField(max_length=5, blank=True)

    class Meta:
        ordering = ["release", "llt_code"]
        constraints = [
            models.UniqueConstraint(fields=["release", "llt_code"], name="unique_meddra_llt_per_release"),
        ]

    def __str__(self) -> str:
        return f"{self.llt_code} {self.llt_name}"
