"""Biopsies of registered lesions, the configurable IHC marker list and pathologists' IHC scores."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from lesions.models import Lesion
from pathology.validation import MarkerSpec
from trial.models import ClinicalRecord, Participant, Visit


class BiopsyPeriod(models.TextChoices):
    BASELINE = "baseline", "Baseline"
    ON_TREATMENT = "on_treatment", "On treatment"


class Biopsy(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="biopsies")
    period = models.CharField(max_length=12, choices=BiopsyPeriod.choices)
    visit = models.ForeignKey(
        Visit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The protocol biopsy visit (BL_BIOPSY or OT_BIOPSY), linked by the service.",
    )
    biopsy_date = models.DateField()
    organ = models.CharField(max_length=60)
    site_detail = models.CharField(max_length=200, blank=True, help_text="Anatomical site of the biopsy.")
    lesion = models.ForeignKey(
        Lesion,
        on_delete=models.PROTECT,
        related_name="biopsies",
        null=True,
        blank=True,
        help_text="Empty while the lesion is not registered yet; linked later (audited).",
    )
    sample_id = models.CharField(max_length=40, unique=True, help_text="Pathology sample identifier.")
    core_count = models.PositiveSmallIntegerField()
    tumour_cells_present = models.BooleanField(help_text="Adequacy: tumour cells present in the sample.")
    adequacy_comment = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["participant", "biopsy_date", "id"]
        verbose_name_plural = "biopsies"

    def __str__(self) -> str:
        return (
            f"{self.participant.study_id} {self.sample_id} ({self.get_period_display()}, {self.biopsy_date})"
        )


class ValueType(models.TextChoices):
    PERCENT = "percent", "Percentage (0-100)"
    DENSITY = "density", "Density (cells/mm²)"
    SCORE = "score", "Whole-number score"
    CATEGORY = "category", "Category"
    HSCORE = "hscore", "H-score (0-300)"


class MarkerDefinition(models.Model):
    """A marker pathologists may score: its value type, range and (for categories) allowed values."""

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=120)
    value_type = models.CharField(max_length=10, choices=ValueType.choices)
    min_value = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    allowed_categories = models.JSONField(default=list, blank=True)
    fields = models.JSONField(
        default=list,
        help_text="IhcScore fields recorded for this marker (see pathology.validation.FIELD_KINDS).",
    )
    default_clone = models.CharField(max_length=40, blank=True)
    active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.code

    def spec(self) -> MarkerSpec:
        return MarkerSpec(
            code=self.code,
            value_type=self.value_type,
            fields=tuple(self.fields),
            min_value=float(self.min_value) if self.min_value is not None else None,
            max_value=float(self.max_value) if self.max_value is not None else None,
            categories=tuple(self.allowed_categories or ()),
        )


class SemiQuant(models.IntegerChoices):
    NEGATIVE = 0, "0"
    WEAK = 1, "1+"
    MODERATE = 2, "2+"
    STRONG = 3, "3+"


class ImmunePhenotype(models.TextChoices):
    INFLAMED = "inflamed", "Inflamed"
    EXCLUDED = "excluded", "Excluded"
    DESERT = "desert", "Desert"


class ScoringMethod(models.TextChoices):
    MANUAL = "manual", "Manual (light microscopy)"
    DIGITAL = "digital", "Digital image analysis"
    MANUAL_ASSISTED = "assisted", "Manual, image-analysis assisted"


def _decimal(**kwargs):
    return models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True, **kwargs)


class IhcScore(ClinicalRecord):
    """One pathologist's score of one marker on one biopsy; a second scorer adds a row beside it."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="ihc_scores")
    biopsy = models.ForeignKey(Biopsy, on_delete=models.PROTECT, related_name="ihc_scores")
    marker = models.ForeignKey(MarkerDefinition, on_delete=models.PROTECT, related_name="scores")
    scorer_number = models.PositiveSmallIntegerField(choices=[(1, "First scorer"), (2, "Second scorer")])
    scorer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    score_date = models.DateField()
    antibody_clone = models.CharField(max_length=40)
    scoring_method = models.CharField(max_length=10, choices=ScoringMethod.choices)
    density_intratumoural = _decimal(help_text="cells/mm², intratumoural compartment")
    density_stromal = _decimal(help_text="cells/mm², stromal compartment")
    percent_positive = _decimal(help_text="% positive cells")
    semi_quant = models.PositiveSmallIntegerField(choices=SemiQuant.choices, null=True, blank=True)
    immune_phenotype = models.CharField(max_length=10, choices=ImmunePhenotype.choices, blank=True)
    tps = _decimal(
        help_text="PD-L1 tumour proportion score, % (computed from the counts when they are given)"
    )
    cps = _decimal(
        help_text="PD-L1 combined positive score, capped at 100 (computed from the counts when given)"
    )
    tps_entered = _decimal(help_text="TPS as the pathologist typed it")
    cps_entered = _decimal(help_text="CPS as the pathologist typed it")
    pdl1_discrepancy = models.BooleanField(
        "PD-L1 typed/computed discrepancy",
        default=False,
        help_text="A typed TPS or CPS differs from the value computed from the counts by more than 0.5.",
    )
    pdl1_pos_tumour_cells = models.PositiveIntegerField(null=True, blank=True)
    pdl1_pos_lymphocytes = models.PositiveIntegerField(null=True, blank=True)
    pdl1_pos_macrophages = models.PositiveIntegerField(null=True, blank=True)
    viable_tumour_cells = models.PositiveIntegerField(null=True, blank=True)
    h_score = _decimal(help_text="0-300")
    value = _decimal(help_text="Value of a configurable marker, in its value type")
    value_category = models.CharField(max_length=40, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["biopsy", "marker__order", "scorer_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["biopsy", "marker", "scorer_number"],
                condition=models.Q(voided=False),
                name="unique_live_ihc_score_per_scorer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.biopsy.sample_id} {self.marker.code} (scorer {self.scorer_number})"

    def value_items(self) -> list[tuple[str, str]]:
        """(label, formatted value) of each recorded value, for pages."""
        from pathology.validation import COUNT_FIELDS, FIELD_LABELS

        items = []
        for name in (*FIELD_LABELS, *COUNT_FIELDS):
            v = getattr(self, name)
            if v is None or v == "":
                continue
            if name == "semi_quant":
                v = self.get_semi_quant_display()
            elif name == "immune_phenotype":
                v = self.get_immune_phenotype_display()
            elif name.startswith("density"):
                v = f"{v} cells/mm²"
            elif name in ("percent_positive", "tps"):
                v = f"{v} %"
            if name in ("tps", "cps"):
                v = self.pdl1_shown(name, v)
            label = (
                FIELD_LABELS.get(name) or name.replace("pdl1_pos_", "PD-L1+ ").replace("_", " ").capitalize()
            )
            label = label.replace("Pd-l1+", "PD-L1+")
            items.append((label, str(v)))
        return items

    def pdl1_shown(self, name: str, shown: object) -> str:
        """'52.08 % (computed from the counts; typed 52)', with the discrepancy named when flagged."""
        entered = getattr(self, f"{name}_entered")
        if entered is None or self.viable_tumour_cells is None:
            return str(shown)
        text = f"{shown} (computed from the counts; typed {entered.normalize():f})"
        if self.pdl1_discrepancy and abs(entered - getattr(self, name)) > Decimal("0.5"):
            text += " — discrepancy"
        return text
