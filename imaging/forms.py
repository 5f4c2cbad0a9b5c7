"""Forms of the PET pages (validation of shapes only; rules live in imaging.services)."""

from __future__ import annotations

from django import forms

from imaging.models import Organ, VoiKind, VoiSource
from lesions.models import Lesion


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class SeriesChoiceForm(forms.Form):
    series_instance_uid = forms.CharField(
        required=False, max_length=64, label="Series instance UID (only if the upload holds several series)"
    )


class CtUploadForm(forms.Form):
    """The CT of a PET/CT uploaded after its PET (the files are streamed, not part of the form's fields)."""

    series_instance_uid = forms.CharField(
        required=False,
        max_length=64,
        label="CT series instance UID (only if the upload holds several CT series)",
    )


class _LesionMixin(forms.Form):
    def __init__(self, *args, participant=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = (
            Lesion.objects.filter(participant=participant, voided=False)
            if participant
            else Lesion.objects.none()
        )
        self.fields["lesion"].queryset = qs

    def clean(self):
        data = super().clean()
        if data.get("kind") == VoiKind.ORGAN and not data.get("name") and data.get("organ"):
            data["name"] = Organ(data["organ"]).label
        if not data.get("name"):
            self.add_error("name", "Give the VOI a name.")
        return data


class SphereVoiForm(_LesionMixin):
    kind = forms.ChoiceField(choices=VoiKind.choices)
    organ = forms.ChoiceField(choices=[("", "— (tumour lesion)")] + list(Organ.choices), required=False)
    name = forms.CharField(max_length=64, required=False, help_text="Defaults to the organ name.")
    lesion = forms.ModelChoiceField(
        queryset=Lesion.objects.none(),
        required=False,
        help_text="Link a tumour VOI to a tracked lesion (optional).",
    )
    centre_x = forms.FloatField(label="Centre x (mm, DICOM patient LPS)")
    centre_y = forms.FloatField(label="Centre y (mm)")
    centre_z = forms.FloatField(label="Centre z (mm)")
    radius_mm = forms.FloatField(label="Radius (mm)", min_value=0.5, max_value=150)


class FileVoiForm(_LesionMixin):
    source = forms.ChoiceField(choices=[c for c in VoiSource.choices if c[0] != VoiSource.SPHERE])
    mask_file = forms.FileField(label="Mask file (.nii/.nii.gz, RTSTRUCT or SEG .dcm)")
    kind = forms.ChoiceField(choices=VoiKind.choices)
    organ = forms.ChoiceField(choices=[("", "— (tumour lesion)")] + list(Organ.choices), required=False)
    name = forms.CharField(max_length=64, required=False)
    roi = forms.CharField(max_length=64, required=False, label="RTSTRUCT ROI name or SEG segment label")
    lesion = forms.ModelChoiceField(queryset=Lesion.objects.none(), required=False)


class AcknowledgeForm(forms.Form):
    note = forms.CharField(max_length=500, widget=forms.TextInput, label="Review note")
