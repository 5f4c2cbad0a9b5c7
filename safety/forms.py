"""AE capture and signature forms: they parse input; the rules live in safety.services/safety.rules."""

from __future__ import annotations

from typing import Any

from django import forms

from safety.models import (
    CURRENT_CTCAE_VERSION,
    ActionTaken,
    CtcaeTerm,
    Outcome,
    Relatedness,
    SignatureMeaning,
)
from safety.rules import SAE_CRITERIA
from trial.forms import (
    DateInput,
    VersionedFormMixin,
    add_duplicate_confirmation,
    clean_duplicate_confirmation,
)

PARTIAL_HELP = "YYYY, YYYY-MM or YYYY-MM-DD"
BLANK = [("", "—")]
REL_FIELDS = (
    ("rel_tracer", "89Zr-Df-crefmirlimab (tracer)"),
    ("rel_pet", "PET procedure"),
    ("rel_biopsy", "Biopsy"),
    ("rel_anti_pd1", "Anti-PD-1 drug"),
)


class AdverseEventForm(VersionedFormMixin, forms.Form):
    term = forms.ModelChoiceField(
        queryset=CtcaeTerm.objects.filter(version=CURRENT_CTCAE_VERSION),
        widget=forms.HiddenInput,
        error_messages={"required": "Search for and choose a CTCAE term."},
    )
    grade = forms.TypedChoiceField(
        choices=[(g, str(g)) for g in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the grade."},
    )
    verbatim_term = forms.CharField(
        max_length=200,
        required=False,
        label="Verbatim term",
        help_text='Required for "Other, specify" terms.',
    )
    onset_date = forms.CharField(
        max_length=10,
        label="Onset date",
        help_text=PARTIAL_HELP,
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM-DD"}),
    )
    end_date = forms.CharField(
        max_length=10,
        required=False,
        label="End date",
        help_text=PARTIAL_HELP,
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM-DD"}),
    )
    ongoing = forms.BooleanField(required=False)
    serious = forms.BooleanField(required=False, label="Serious (SAE)")
    outcome = forms.ChoiceField(choices=BLANK + Outcome.choices)
    death_date = forms.DateField(required=False, widget=DateInput, label="Date of death")
    action_anti_pd1 = forms.ChoiceField(
        choices=BLANK + ActionTaken.choices, label="Action taken with the anti-PD-1 drug"
    )
    immune_related = forms.BooleanField(required=False, label="Immune-related AE (irAE)")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    out_of_window_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason for an onset outside the reporting window",
        help_text="Only needed when the onset lies outside first study procedure to last study procedure + 100 days.",
    )

    def __init__(
        self, *args: Any, participant: Any, editing: bool = False, grade_change: bool = False, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        for name, label in SAE_CRITERIA:
            self.fields[name] = forms.BooleanField(required=False, label=label)
        drug = participant.get_planned_anti_pd1_display()
        for name, label in REL_FIELDS:
            label = f"{drug} (anti-PD-1)" if name == "rel_anti_pd1" else label
            self.fields[name] = forms.ChoiceField(choices=BLANK + Relatedness.choices, label=label)
        if grade_change:
            self.fields["onset_date"].label = "Date the grade changed (onset of the new grade)"
        if editing or grade_change:
            self.fields["reason"] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 2}), label="Reason for change"
            )
        else:
            add_duplicate_confirmation(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "confirm_duplicate" in self.fields:
            data = clean_duplicate_confirmation(self, data)
        return data

    def duplicate_reason(self) -> str:
        """The confirmed reason for recording a likely duplicate ('' if not confirmed)."""
        return self.cleaned_data.get("confirm_duplicate_reason", "")

    @property
    def chosen_term(self) -> CtcaeTerm | None:
        value = self.data.get("term") if self.is_bound else self.initial.get("term")
        if isinstance(value, CtcaeTerm):
            return value
        try:
            return CtcaeTerm.objects.get(pk=int(value)) if value else None
        except (ValueError, CtcaeTerm.DoesNotExist):
            return None

    @property
    def chosen_grade(self) -> int | None:
        value = self.data.get("grade") if self.is_bound else self.initial.get("grade")
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    def criteria_fields(self) -> list:
        return [self[name] for name, _ in SAE_CRITERIA]

    def relatedness_fields(self) -> list:
        return [self[name] for name, _ in REL_FIELDS]

    def values(self) -> dict[str, Any]:
        skip = ("reason", "version", "confirm_duplicate", "confirm_duplicate_reason")
        return {k: v for k, v in self.cleaned_data.items() if k not in skip}


class SignatureForm(forms.Form):
    meaning = forms.ChoiceField(
        choices=SignatureMeaning.choices, widget=forms.RadioSelect, initial=SignatureMeaning.COMPLETE
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        label="Your password (re-enter to sign)",
    )
