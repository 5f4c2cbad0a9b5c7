"""Bulk export jobs (progress visible on /exports/ and through the API)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready to download"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    step = models.CharField(max_length=80, blank=True, help_text="What the worker is writing now.")
    cursor = models.CharField(max_length=80, blank=True, help_text="Feed cursor of the exported snapshot.")
    snapshot_txid = models.BigIntegerField(null=True, blank=True, help_text="Horizon of the snapshot.")
    file = models.CharField(max_length=300, blank=True, help_text="Path under MEDIA_ROOT.")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.status})"


from exports.models_meddra import MeddraRelease, MeddraTerm  # noqa: E402, F401  (MedDRA reference data)
