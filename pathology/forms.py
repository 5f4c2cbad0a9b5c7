"""Forms for biopsies and IHC scores; ranges are enforced by the service, not here, so API and form agree."""

from __future__ import annotations

from django import forms

from pathology.models import BiopsyPeriod, ImmunePhenotype, ScoringMethod, SemiQuant
from pathology.validation import COUNT_FIELDS, FIELD_LABELS
from trial.forms import DateInput, VersionedFormMixin


class BiopsyForm(forms.Form):
    period = forms.ChoiceField(choices=BiopsyPeriod.choices, label="Visit")
    biopsy_date = forms.DateField(widget=DateInput)
    lesion = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Lesion biopsied (lesion registry)",
        help_text="Leave empty if the lesion is not registered yet: give the organ, and link the lesion later.",
    )
    organ = forms.CharField(max_length=60, required=False, help_text="Blank: the lesion's organ.")
    site_detail = forms.CharField(max_length=200, required=False, label="Anatomical site")
    sample_id = forms.CharField(max_length=40, label="Sample identifier")
    core_count = forms.IntegerField(min_value=0, max_value=50, label="Number of cores")
    tumour_cells_present = forms.TypedChoiceField(
        choices=[("yes", "Yes: tumour cells present"), ("no", "No: no tumour cells (inadequate)")],
        coerce=lambda v: v == "yes",
        label="Adequacy",
    )
    adequacy_comment = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, lesions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lesion"].queryset = lesions


class ReasonMixin(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Required when correcting a saved record.",
    )


class BiopsyEditForm(VersionedFormMixin, BiopsyForm, ReasonMixin):
    pass


def _num(label: str, help_text: str = "") -> forms.DecimalField:
    # No min/max here: the service reports range errors with the marker's own limits.
    return forms.DecimalField(
        required=False,
        max_digits=9,
        decimal_places=2,
        label=label,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "any"}),
    )


class IhcScoreForm(forms.Form):
    score_date = forms.DateField(widget=DateInput)
    antibody_clone = forms.CharField(max_length=40, help_text="e.g. C8/144B for CD8, 22C3 for PD-L1.")
    scoring_method = forms.ChoiceField(choices=ScoringMethod.choices)
    density_intratumoural = _num("CD8 density, intratumoural (cells/mm²)")
    density_stromal = _num("CD8 density, stromal (cells/mm²)")
    percent_positive = _num("CD8 positive cells (%)")
    semi_quant = forms.TypedChoiceField(
        choices=[("", "—")] + list(SemiQuant.choices),
        coerce=int,
        required=False,
        empty_value=None,
        label="Semi-quantitative score",
    )
    immune_phenotype = forms.ChoiceField(choices=[("", "—")] + list(ImmunePhenotype.choices), required=False)
    tps = _num("PD-L1 tumour proportion score (%)")
    cps = _num("PD-L1 combined positive score", "0-100; blank to compute it from the counts below.")
    pdl1_pos_tumour_cells = forms.IntegerField(required=False, label="PD-L1 positive tumour cells (count)")
    pdl1_pos_lymphocytes = forms.IntegerField(required=False, label="PD-L1 positive lymphocytes (count)")
    pdl1_pos_macrophages = forms.IntegerField(required=False, label="PD-L1 positive macrophages (count)")
    viable_tumour_cells = forms.IntegerField(
        required=False, label="Viable tumour cells (count, at least 100)"
    )
    h_score = _num("H-score (0-300)")
    value = _num("Value (other markers, in the marker's unit)")
    value_category = forms.CharField(max_length=40, required=False, label="Category (other markers)")
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    VALUE_NAMES = tuple(FIELD_LABELS) + COUNT_FIELDS

    def __init__(self, *args, marker=None, edit: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = set(marker.fields)
        if "cps" in allowed:
            allowed |= set(COUNT_FIELDS)
        for name in self.VALUE_NAMES:
            if name not in allowed:
                del self.fields[name]
        if marker.fields == ["value"] or "value" in allowed:
            unit = {"density": "cells/mm²", "percent": "%", "hscore": "0-300"}.get(marker.value_type, "")
            if "value" in self.fields:
                self.fields["value"].label = f"{marker.code} {marker.get_value_type_display().lower()}" + (
                    f" ({unit})" if unit and unit not in marker.get_value_type_display() else ""
                )
        if marker.code != "CD8":
            for name in ("density_intratumoural", "density_stromal", "percent_positive"):
                if name in self.fields:
                    self.fields[name].label = self.fields[name].label.replace("CD8", marker.code)
        if edit:
            self.fields["reason"] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 2}), label="Reason for correction"
            )

    def values(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in self.VALUE_NAMES if k in self.fields}

    def meta(self) -> dict:
        return {
            k: self.cleaned_data[k] for k in ("score_date", "antibody_clone", "scoring_method", "comment")
        }


class IhcScoreEditForm(VersionedFormMixin, IhcScoreForm):
    """Correct a score: a reason, and the version the scorer opened."""
