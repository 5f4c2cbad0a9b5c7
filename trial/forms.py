from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms

from trial.models import AntiPD1Drug, ParticipantStatus, Sex, Site, Visit, VisitStatus


class DateInput(forms.DateInput):
    input_type = "date"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class SiteLocalDateTimeField(forms.DateTimeField):
    """A wall-clock date-time entered in the site's time zone, to the minute.

    Django would interpret the value in the server's zone; we take the naive value and attach the site's.
    """

    widget = LocalDateTimeInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)
        self.site_tz: zoneinfo.ZoneInfo | None = None

    def to_python(self, value):
        if value in self.empty_values:
            return None
        for fmt in self.input_formats:
            try:
                naive = dt.datetime.strptime(str(value).strip(), fmt)  # noqa: DTZ007 (site zone attached below)
                break
            except ValueError:
                continue
        else:
            raise forms.ValidationError("Enter a date and time as YYYY-MM-DD HH:MM.")
        return naive.replace(tzinfo=self.site_tz or dt.UTC)


class EnrolmentForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none())
    year_of_birth = forms.IntegerField(min_value=1900, max_value=2100)
    sex = forms.ChoiceField(choices=Sex.choices)
    height_cm = forms.DecimalField(min_value=100, max_value=250, decimal_places=1)
    weight_kg = forms.DecimalField(
        min_value=25, max_value=300, decimal_places=1, label="Weight at baseline (kg)"
    )
    tumour_type = forms.CharField(max_length=100)
    planned_anti_pd1 = forms.ChoiceField(choices=AntiPD1Drug.choices, label="Planned anti-PD-1")
    consent_date = forms.DateField(widget=DateInput)
    consent_version = forms.CharField(max_length=32, initial="ICF v1.0")
    enrolment_date = forms.DateField(widget=DateInput)
    treatment_start_date = forms.DateField(widget=DateInput, label="Planned anti-PD-1 start (day 1)")

    def __init__(self, *args, sites, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()
        self.criteria = list(criteria)
        for c in self.criteria:
            self.fields[f"criterion_{c.pk}"] = forms.TypedChoiceField(
                label=f"{c.code} ({c.get_kind_display()}): {c.text}",
                choices=[("", "—"), ("yes", "Yes"), ("no", "No")],
                coerce=lambda v: v == "yes",
                required=True,
            )

    def answers(self) -> dict[int, bool]:
        return {c.pk: self.cleaned_data[f"criterion_{c.pk}"] for c in self.criteria}


class VisitRecordForm(forms.Form):
    status = forms.ChoiceField(choices=VisitStatus.choices)
    actual_date = forms.DateField(widget=DateInput, required=False)
    out_of_window_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Explanation if outside the window"
    )
    reason = forms.CharField(required=False, label="Reason for change (required when editing)")


class StatusChangeForm(forms.Form):
    to_status = forms.ChoiceField(choices=ParticipantStatus.choices, label="New status")
    date = forms.DateField(widget=DateInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class TracerDoseForm(forms.Form):
    visit = forms.ModelChoiceField(queryset=Visit.objects.none())
    administered_at = SiteLocalDateTimeField(label="Injection date-time (site local time)")
    activity_before_mbq = forms.DecimalField(
        min_value=0, max_digits=7, decimal_places=2, label="Activity before injection (MBq)"
    )
    residual_mbq = forms.DecimalField(
        min_value=0,
        max_digits=7,
        decimal_places=2,
        initial=0,
        label="Residual activity after injection (MBq)",
    )
    mass_dose_mg = forms.DecimalField(min_value=0, max_digits=7, decimal_places=3, label="Mass dose (mg)")
    batch = forms.CharField(max_length=40)

    def __init__(self, *args, participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visit"].queryset = participant.visits.filter(kind="tracer", voided=False)
        self.fields["administered_at"].site_tz = zoneinfo.ZoneInfo(participant.site.time_zone)


class AntiPD1DoseForm(forms.Form):
    drug = forms.ChoiceField(choices=AntiPD1Drug.choices)
    dose_mg = forms.DecimalField(min_value=0, max_digits=7, decimal_places=1)
    administered_at = SiteLocalDateTimeField(label="Administration date-time (site local time)")

    def __init__(self, *args, participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["drug"].initial = participant.planned_anti_pd1
        self.fields["administered_at"].site_tz = zoneinfo.ZoneInfo(participant.site.time_zone)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
