"""Casebook forms: one ModelForm per record kind, built from the kind's field list (casebook.registry)."""

from __future__ import annotations

from typing import Any

from django import forms

from casebook.models import AgeBand
from trial.forms import DateInput, SiteLocalDateTimeField, VersionedFormMixin
from trial.models import EligibilityCriterion, ProtocolVersion
from trial.site_time import site_zone

DATETIME_FIELDS = {"measured_at", "sampled_at", "counted_at"}


class CasebookForm(forms.ModelForm):
    """Base: visit / tracer-dose choices of this participant only, dates as date pickers, times in site time."""

    def __init__(self, *args: Any, participant: Any, record: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, instance=record, **kwargs)
        self.participant = participant
        zone = site_zone(participant)
        for name, field in self.fields.items():
            if isinstance(field, forms.DateField) and not isinstance(field, forms.DateTimeField):
                field.widget = DateInput()
            if name == "visit":
                field.queryset = participant.visits.filter(voided=False).order_by("planned_date")
            if name == "tracer_dose":
                field.queryset = participant.tracer_doses.filter(voided=False).order_by("administered_at")
        for name in DATETIME_FIELDS & set(self.fields):
            old = self.fields[name]
            self.fields[name] = SiteLocalDateTimeField(
                label=f"{old.label} (site local time)", required=old.required, help_text=old.help_text
            )
            self.fields[name].site_tz = zone
            if record is not None:
                self.initial[name] = getattr(record, name)
        if record is not None:
            self.fields["version"] = forms.IntegerField(
                widget=forms.HiddenInput, required=False, initial=record.version
            )
            self.fields["reason"] = forms.CharField(
                label="Reason for change", widget=forms.Textarea(attrs={"rows": 2}), required=True
            )

    def _post_clean(self) -> None:
        """Validation of the whole record is the service's (casebook.rules + full_clean on save)."""

    def service_data(self) -> tuple[dict[str, Any], str, int | None]:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("version", "reason")}
        return data, self.cleaned_data.get("reason", ""), self.cleaned_data.get("version")


def form_class(model: type, fields: list[str]) -> type[CasebookForm]:
    meta = type("Meta", (), {"model": model, "fields": fields})
    return type(f"{model.__name__}Form", (CasebookForm,), {"Meta": meta})


def lab_help() -> str:
    from quant.labs.criteria import TESTS

    return "; ".join(f"{code}: {' or '.join(t.units)}" for code, t in TESTS.items())


class ScreenFailureForm(VersionedFormMixin, forms.Form):
    site = forms.ModelChoiceField(queryset=None)
    screened_on = forms.DateField(widget=DateInput, label="Screening date")
    age_band = forms.ChoiceField(choices=AgeBand.choices, label="Age band")
    failed_criteria = forms.MultipleChoiceField(
        choices=(), required=False, widget=forms.CheckboxSelectMultiple, label="Criteria not met"
    )
    other_reason = forms.CharField(
        required=False, max_length=200, label="Other reason (e.g. declined consent)"
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()
        protocol = ProtocolVersion.objects.filter(is_current=True).first()
        criteria = EligibilityCriterion.objects.filter(protocol_version=protocol) if protocol else []
        self.fields["failed_criteria"].choices = [
            (c.code, f"{c.code} ({c.get_kind_display()}): {c.text}") for c in criteria
        ]
