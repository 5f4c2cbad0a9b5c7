"""CTCAE dictionary, adverse events, SAE notifications and investigator signatures."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from trial.models import AntiPD1Drug, ClinicalRecord, Participant

CURRENT_CTCAE_VERSION = "5.0"


class CtcaeTerm(models.Model):
    """One CTCAE term of one dictionary version (dictionary data, not clinical data)."""

    version = models.CharField(max_length=8, default=CURRENT_CTCAE_VERSION, db_index=True)
    meddra_code = models.PositiveIntegerField(help_text="MedDRA LLT code of the CTCAE term.")
    soc = models.CharField(max_length=120, verbose_name="MedDRA SOC", db_index=True)
    term = models.CharField(max_length=200)
    grade1 = models.TextField(blank=True)
    grade2 = models.TextField(blank=True)
    grade3 = models.TextField(blank=True)
    grade4 = models.TextField(blank=True)
    grade5 = models.TextField(blank=True)
    definition = models.TextField(blank=True)
    navigational_note = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0, help_text="Row order in the source file.")

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "meddra_code"], name="unique_ctcae_code"),
            models.UniqueConstraint(fields=["version", "term"], name="unique_ctcae_term"),
        ]

    def __str__(self) -> str:
        return self.term

    @property
    def is_other_specify(self) -> bool:
        return self.term.endswith("Other, specify")

    def grade_text(self, grade: int) -> str:
        return getattr(self, f"grade{grade}", "") if 1 <= grade <= 5 else ""

    @property
    def grade_texts(self) -> dict[int, str]:
        return {g: self.grade_text(g) for g in range(1, 6) if self.grade_text(g)}

    @property
    def defined_grades(self) -> list[int]:
        return list(self.grade_texts)


class Relatedness(models.TextChoices):
    UNRELATED = "unrelated", "Unrelated"
    UNLIKELY = "unlikely", "Unlikely"
    POSSIBLE = "possible", "Possible"
    PROBABLE = "probable", "Probable"
    DEFINITE = "definite", "Definite"


class Outcome(models.TextChoices):
    """CDISC OUT codelist."""

    RECOVERED = "recovered", "Recovered/resolved"
    RECOVERING = "recovering", "Recovering/resolving"
    NOT_RECOVERED = "not_recovered", "Not recovered/not resolved"
    SEQUELAE = "recovered_with_sequelae", "Recovered/resolved with sequelae"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


class ActionTaken(models.TextChoices):
    """CDISC ACN codelist, as it applies to an anti-PD-1 antibody (no dose reductions)."""

    NOT_CHANGED = "dose_not_changed", "Dose not changed"
    INTERRUPTED = "drug_interrupted", "Drug interrupted (dose delayed or held)"
    WITHDRAWN = "drug_withdrawn", "Drug withdrawn"
    NOT_APPLICABLE = "not_applicable", "Not applicable (not yet started or already stopped)"
    UNKNOWN = "unknown", "Unknown"


class DatePrecision(models.TextChoices):
    YEAR = "year", "Year"
    MONTH = "month", "Year and month"
    DAY = "day", "Full date"


REL_CHOICES = Relatedness.choices


class AdverseEvent(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="adverse_events")
    term = models.ForeignKey(CtcaeTerm, on_delete=models.PROTECT, related_name="+")
    ctcae_version = models.CharField(max_length=8, help_text="CTCAE version of the term (copied from it).")
    verbatim_term = models.CharField(
        max_length=200, blank=True, help_text='Required for "Other, specify" terms.'
    )
    grade = models.PositiveSmallIntegerField(help_text="CTCAE grade 1-5.")
    onset_date = models.CharField(
        max_length=10, help_text="ISO 8601, partial allowed: YYYY, YYYY-MM or YYYY-MM-DD."
    )
    onset_precision = models.CharField(max_length=5, choices=DatePrecision.choices)
    end_date = models.CharField(max_length=10, blank=True)
    end_precision = models.CharField(max_length=5, choices=DatePrecision.choices, blank=True)
    ongoing = models.BooleanField(default=False)
    serious = models.BooleanField(default=False)
    sae_death = models.BooleanField(default=False, verbose_name="Results in death")
    sae_life_threatening = models.BooleanField(default=False, verbose_name="Life-threatening")
    sae_hospitalisation = models.BooleanField(
        default=False, verbose_name="Requires or prolongs hospitalisation"
    )
    sae_disability = models.BooleanField(default=False, verbose_name="Persistent or significant disability")
    sae_congenital_anomaly = models.BooleanField(
        default=False, verbose_name="Congenital anomaly/birth defect"
    )
    sae_other_important = models.BooleanField(default=False, verbose_name="Other important medical event")
    sae_aware_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the site first recorded it as serious (UTC): starts the 24-hour clock.",
    )
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    death_date = models.DateField(null=True, blank=True)
    action_anti_pd1 = models.CharField(
        max_length=20, choices=ActionTaken.choices, verbose_name="Action taken with the anti-PD-1 drug"
    )
    anti_pd1_drug = models.CharField(
        max_length=16,
        choices=AntiPD1Drug.choices,
        help_text="The participant's anti-PD-1 drug when recorded.",
    )
    immune_related = models.BooleanField(default=False, verbose_name="Immune-related AE (irAE)")
    rel_tracer = models.CharField(
        max_length=10, choices=REL_CHOICES, verbose_name="Related to 89Zr-Df-crefmirlimab"
    )
    rel_pet = models.CharField(
        max_length=10, choices=REL_CHOICES, verbose_name="Related to the PET procedure"
    )
    rel_biopsy = models.CharField(max_length=10, choices=REL_CHOICES, verbose_name="Related to the biopsy")
    rel_anti_pd1 = models.CharField(
        max_length=10, choices=REL_CHOICES, verbose_name="Related to the anti-PD-1 drug"
    )
    description = models.TextField(blank=True)
    out_of_window = models.BooleanField(default=False, help_text="Onset outside the AE reporting window.")
    out_of_window_reason = models.TextField(blank=True)
    previous = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_records",
        help_text="The record of the same AE before its grade changed.",
    )

    class Meta:
        ordering = ["participant", "onset_date", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(grade__gte=1, grade__lte=5), name="ae_grade_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"AE {self.pk}: {self.display_term} grade {self.grade}"

    @property
    def display_term(self) -> str:
        return f"{self.term.term}: {self.verbatim_term}" if self.verbatim_term else self.term.term

    @property
    def grade_text(self) -> str:
        return self.term.grade_text(self.grade)

    @property
    def sae_criteria(self) -> list[str]:
        from safety.rules import SAE_CRITERIA

        return [label for name, label in SAE_CRITERIA if getattr(self, name)]


class NotificationKind(models.TextChoices):
    INITIAL = "initial", "Initial SAE report"
    FOLLOW_UP = "follow_up", "Follow-up SAE report"


class SaeNotification(models.Model):
    """One e-mail about an SAE to the sponsor's safety contact and the site's investigator."""

    adverse_event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="notifications")
    kind = models.CharField(max_length=10, choices=NotificationKind.choices)
    queued_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    gave_up = models.BooleanField(default=False, help_text="All retries failed; needs attention.")
    recipients = models.JSONField(default=list)

    class Meta:
        ordering = ["queued_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for AE {self.adverse_event_id}"

    @property
    def status(self) -> str:
        if self.sent_at:
            return "sent"
        if self.gave_up:
            return "failed"
        return "retrying" if self.attempts else "queued"


class SignatureMeaning(models.TextChoices):
    COMPLETE = "complete_accurate", "I confirm these AEs are complete and accurate"
    REVIEWED = "reviewed_assessed", "I have reviewed these AEs and the causality assessments are mine"


class AeSignature(ClinicalRecord):
    """An investigator's electronic signature over the current version of a participant's AEs."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="ae_signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=24, choices=SignatureMeaning.choices)
    signed_at = models.DateTimeField(help_text="UTC.")
    content_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the canonical content of the signed AEs."
    )
    adverse_event_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["-signed_at", "-id"]

    def __str__(self) -> str:
        return f"Signature of {self.printed_name} on {self.participant} AEs at {self.signed_at:%Y-%m-%d %H:%M} UTC"
