"""Freeze and lock, source data verification marks and casebook signatures.

None of these is clinical data: they are written with `trial.audit.write_entry` (actions lock, unlock,
sign, unsign, update) by `monitoring.services`, never through the write gate they feed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from trial.models import Participant, Site


class LockScope(models.TextChoices):
    RECORD = "record", "Record"
    PARTICIPANT = "participant", "Casebook (participant)"
    SITE = "site", "Site"
    STUDY = "study", "Study (database lock)"


class LockKind(models.TextChoices):
    FREEZE = "freeze", "Frozen"
    LOCK = "lock", "Locked"


class DataLock(models.Model):
    """A freeze or lock of one record, a casebook, a site or the whole study; live until released.

    Freeze: clinical writes are refused; SDV, signatures and queries go on. Lock: clinical writes, SDV
    marks and signatures are refused; queries can still be raised and answered (messages only).
    """

    scope = models.CharField(max_length=12, choices=LockScope.choices)
    kind = models.CharField(max_length=8, choices=LockKind.choices, default=LockKind.LOCK)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, null=True, blank=True, related_name="data_locks"
    )
    resource = models.CharField(max_length=40, blank=True, help_text="Export resource name (record scope).")
    app_label = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=60, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    release_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["scope", "participant", "site", "object_id"],
                name="monitoring_live_lock_idx",
                condition=Q(released_at__isnull=True),
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "site", "participant", "app_label", "model", "object_id"],
                condition=Q(released_at__isnull=True),
                nulls_distinct=False,
                name="monitoring_one_live_lock_per_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_label}"

    @property
    def live(self) -> bool:
        return self.released_at is None

    @property
    def target_label(self) -> str:
        if self.scope == LockScope.STUDY:
            return "study (database lock)"
        if self.scope == LockScope.SITE:
            return f"site {self.site.code if self.site else self.site_id}"
        if self.scope == LockScope.PARTICIPANT:
            return f"casebook {self.participant.study_id if self.participant else self.participant_id}"
        return f"{self.resource} record {self.object_id}"


class SdvMark(models.Model):
    """A monitor's verification of one record (field "") or one field of it, bound to the verified values."""

    resource = models.CharField(max_length=40)
    app_label = models.CharField(max_length=40)
    model = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    field = models.CharField(max_length=60, blank=True, help_text='"" = the whole record.')
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="sdv_marks")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    record_version = models.PositiveIntegerField()
    value_hash = models.CharField(max_length=64, help_text="SHA-256 of the verified value(s).")
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["resource", "object_id", "field", "-verified_at"]
        indexes = [models.Index(fields=["app_label", "model", "object_id"], name="monitoring_sdv_object_idx")]

    def __str__(self) -> str:
        what = f"field {self.field}" if self.field else "record"
        return f"SDV of {self.resource} {self.object_id} ({what})"

    @property
    def status(self) -> str:
        return "changed since verification" if self.cleared_at else "verified"


class CasebookMeaning(models.TextChoices):
    COMPLETE = "complete", "I confirm this casebook is complete and accurate"
    REVIEWED = "reviewed", "I have reviewed the data of this casebook"


class CasebookSignature(models.Model):
    """The investigator's signature over every live record of a participant's casebook (SHA-256)."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="casebook_signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=16, choices=CasebookMeaning.choices)
    signed_at = models.DateTimeField(help_text="UTC.")
    content_hash = models.CharField(max_length=64)
    records = models.JSONField(default=list, help_text="[[resource, id, version], ...] covered.")
    voided = models.BooleanField(default=False)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [
            models.Index(fields=["participant"], name="monitoring_live_cbsig_idx", condition=Q(voided=False))
        ]

    def __str__(self) -> str:
        return f"Casebook signature of {self.printed_name} on {self.participant_id} at {self.signed_at:%Y-%m-%d %H:%M} UTC"


class RefusedWrite(models.Model):
    """A write that frozen or locked data refused with nobody on the page to read the error: a worker's
    recompute (MRI fits, mask analysis, PET series processing). Shown on the data manager overview."""

    at = models.DateTimeField(auto_now_add=True)
    app_label = models.CharField(max_length=40)
    model = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, null=True, blank=True, related_name="refused_writes"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=12, help_text="Audit source of the refused write (worker, import).")
    what = models.CharField(max_length=120, help_text="The computation or write that was refused.")
    message = models.TextField(help_text="The lock's message, as a person would have seen it.")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Refused {self.what} of {self.object_repr}"
