"""Data queries: a question about one field of one clinical record, its thread of messages and its state.

A query names its record by export resource (``adverse-events``), object id and field; participant and
site are copied onto it for scoping. Manual queries are raised by a monitor or data manager; automatic
ones by an edit-check rule (``rule_code``). States: open -> answered -> closed; reopen goes back to open.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from trial.models import Participant, Site


class QueryStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class QueryOrigin(models.TextChoices):
    MANUAL = "manual", "Manual"
    AUTOMATIC = "automatic", "Automatic (edit check)"


class MessageKind(models.TextChoices):
    RAISED = "raised", "Raised"
    ANSWERED = "answered", "Answered"
    CORRECTED = "corrected", "Answered with a correction"
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Reopened"
    AUTOMATIC = "automatic", "Automatic"


LIVE_STATUSES = (QueryStatus.OPEN, QueryStatus.ANSWERED)


class Query(models.Model):
    resource = models.CharField(max_length=40, help_text='Export resource name, e.g. "adverse-events".')
    object_id = models.PositiveBigIntegerField()
    field = models.CharField(max_length=60, help_text="Column of the resource the query is about.")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="queries")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="queries")
    text = models.TextField(help_text="The question as first raised.")
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    origin = models.CharField(max_length=10, choices=QueryOrigin.choices, default=QueryOrigin.MANUAL)
    rule_code = models.CharField(
        max_length=40, blank=True, help_text="Edit-check rule of an automatic query."
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    raised_by_display = models.CharField(max_length=200, help_text='Printed name, or "system".')
    raised_at = models.DateTimeField(help_text="UTC.")
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_automatically = models.BooleanField(
        default=False, help_text="Closed by the system because the corrected value passes its rule."
    )
    reopen_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name_plural = "queries"
        indexes = [
            models.Index(fields=["resource", "object_id"]),
            models.Index(fields=["site", "status"]),
            models.Index(fields=["participant", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["rule_code", "resource", "object_id", "field"],
                condition=models.Q(origin="automatic") & ~models.Q(status="closed"),
                name="one_live_automatic_query_per_rule_record_field",
            ),
        ]

    def __str__(self) -> str:
        return f"Query {self.pk} on {self.resource} {self.object_id} {self.field} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class QueryMessage(models.Model):
    """One step of a query's thread: who, when (UTC), what kind, the text; a correction's old and new value."""

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    author_display = models.CharField(max_length=200)
    at = models.DateTimeField(help_text="UTC.")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    text = models.TextField()
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.author_display} at {self.at:%Y-%m-%d %H:%M} UTC"
