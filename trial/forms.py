from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.utils import timezone

from trial.models import AntiPD1Drug, ParticipantStatus, Sex, Site, Visit, VisitStatus
from trial.site_time import site_zone


class VersionedFormMixin:
    """For every edit form: carries the version of the record the user opened, as a hidden field.

    Pass `record=<the instance>` when building the form; the view hands `expected_version()` to the
    service, which refuses the edit if the record changed since (trial.versioning.VersionConflict).
    """

    def __init__(self, *args, record=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"] = forms.IntegerField(
            widget=forms.HiddenInput,
            required=False,
            min_value=1,
            initial=getattr(record, "version", None),
            error_messages={"invalid": "The form's record version is damaged; open the form again."},
        )

    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")


class DateInput(forms.DateInput):
    """`<input type="date">` needs an ISO value (YYYY-MM-DD), whatever the locale's date format is."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(attrs=attrs, **kwargs)


class LocalDateTimeInput(forms.DateTimeInput):
    """`<input type="datetime-local">` with a YYYY-MM-DDTHH:MM value."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%dT%H:%M")
        super().__init__(attrs=attrs, **kwargs)


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

    def prepare_value(self, value):
        """Show a stored (UTC) instant on the site's wall clock, not the server's."""
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            return value.astimezone(self.site_tz or dt.UTC).replace(tzinfo=None)
        return value


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


class VisitRecordForm(VersionedFormMixin, forms.Form):
    status = forms.ChoiceField(choices=VisitStatus.choices)
    actual_date = forms.DateField(widget=DateInput, required=False)
    out_of_window_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Explanation if outside the window"
    )
    reason = forms.CharField(required=False, label="Reason for change (required when editing)")


class StatusChangeForm(VersionedFormMixin, forms.Form):
    to_status = forms.ChoiceField(choices=ParticipantStatus.choices, label="New status")
    date = forms.DateField(widget=DateInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


def add_duplicate_confirmation(form: forms.Form) -> None:
    """Add the tick box and reason a create form needs to record a likely duplicate anyway."""
    form.fields["confirm_duplicate"] = forms.BooleanField(
        required=False,
        label="Record anyway: this is not a duplicate",
        help_text="Only when the form says this looks like a duplicate of an existing record.",
    )
    form.fields["confirm_duplicate_reason"] = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why it is not a duplicate",
    )


def clean_duplicate_confirmation(form: forms.Form, data: dict) -> dict:
    """Replace the tick box by `confirm_duplicate_reason` ('' unless ticked); both or neither are needed."""
    ticked = bool(data.pop("confirm_duplicate", False))
    reason = (data.get("confirm_duplicate_reason") or "").strip()
    if ticked and not reason:
        form.add_error("confirm_duplicate_reason", "Give the reason this is not a duplicate.")
    elif reason and not ticked:
        form.add_error("confirm_duplicate", "Tick the box to record it although it looks like a duplicate.")
    data["confirm_duplicate_reason"] = reason if ticked else ""
    return data


class DuplicateConfirmationMixin:
    """Create forms whose service refuses likely duplicates unless `confirm_duplicate_reason` is given."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        add_duplicate_confirmation(self)

    def clean(self):
        return clean_duplicate_confirmation(self, super().clean())


class TracerDoseForm(DuplicateConfirmationMixin, forms.Form):
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
        self.fields["administered_at"].site_tz = site_zone(participant)


class AntiPD1DoseForm(DuplicateConfirmationMixin, forms.Form):
    drug = forms.ChoiceField(choices=AntiPD1Drug.choices)
    dose_mg = forms.DecimalField(min_value=0, max_digits=7, decimal_places=1)
    administered_at = SiteLocalDateTimeField(label="Administration date-time (site local time)")

    def __init__(self, *args, participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["drug"].initial = participant.planned_anti_pd1
        self.fields["administered_at"].site_tz = site_zone(participant)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class VoidForm(VersionedFormMixin, ReasonForm):
    """Void or restore a record: a reason, and the version the user saw."""
