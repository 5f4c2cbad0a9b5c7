from __future__ import annotations

from django import forms

from mri.models import MapModel, MrSeriesUpload, SeriesKind


class MrUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=SeriesKind.choices, label="Kind of series")
    series_instance_uid = forms.CharField(required=False, label="Series (when the upload holds several)")


class MapJobForm(forms.Form):
    series = forms.ModelChoiceField(queryset=MrSeriesUpload.objects.none(), label="Series to fit")
    model = forms.ChoiceField(choices=MapModel.choices)
    vfa = forms.ModelChoiceField(
        queryset=MrSeriesUpload.objects.none(), required=False, label="VFA series for T10"
    )
    t10_ms = forms.FloatField(required=False, min_value=1, max_value=20000, label="Fixed T10 (ms)")
    r1 = forms.FloatField(initial=4.5, min_value=0.01, max_value=100, label="r1 (/mM/s)")
    hematocrit = forms.FloatField(initial=0.45, min_value=0, max_value=0.99)
    fit_delay = forms.BooleanField(required=False, label="Fit the bolus arrival per voxel")

    def __init__(self, *args, uploads=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        qs = uploads if uploads is not None else MrSeriesUpload.objects.none()
        self.fields["series"].queryset = qs.filter(kind__in=[SeriesKind.DCE, SeriesKind.DWI])
        self.fields["vfa"].queryset = qs.filter(kind=SeriesKind.VFA)


class RoiForm(forms.Form):
    name = forms.RegexField(regex=r"^[A-Za-z0-9_.\-]{1,40}$", label="ROI name (e.g. the lesion label)")
    sphere = forms.RegexField(
        regex=r"^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,[0-9.]+$", required=False, label="Sphere X,Y,Z,R (patient mm)"
    )
    file = forms.FileField(required=False, label="…or a NIfTI mask / DICOM SEG / RTSTRUCT")

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("sphere")) == bool(data.get("file")):
            raise forms.ValidationError("give a sphere or a mask file (one of them)")
        return data
