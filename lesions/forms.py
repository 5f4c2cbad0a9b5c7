"""Forms for the lesion registry pages (validation of rules lives in services)."""

from __future__ import annotations

from django import forms

from lesions.models import PARAMETER_FIELDS, PARAMETER_LABELS, LesionRole, Modality, ParameterKind
from trial.forms import DateInput, VersionedFormMixin
from trial.models import Participant

DATE = DateInput()


class LesionForm(forms.Form):
    label = forms.CharField(max_length=16, help_text='e.g. "T1", "NT1", "N1"')
    organ = forms.CharField(
        max_length=60, help_text="Organ (counts for the 2-per-organ rule), e.g. liver, lung, lymph node"
    )
    location = forms.CharField(max_length=200, required=False)
    nodal = forms.BooleanField(required=False, label="Lymph node (short axis is measured)")
    role = forms.ChoiceField(choices=LesionRole.choices)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    reason = forms.CharField(required=False, help_text="Required when editing an existing lesion.")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["reason"]
        else:
            self.fields["reason"].required = True


class LesionEditForm(VersionedFormMixin, LesionForm):
    """Edit a lesion: a reason, and the version the user opened."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, editing=True, **kwargs)


def visit_choices(participant: Participant, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    visits = participant.visits.filter(voided=False, kind__in=kinds).order_by("planned_date")
    return [("", "— none —")] + [(str(v.pk), f"{v.name} ({v.actual_date or v.planned_date})") for v in visits]


class AssessmentForm(forms.Form):
    date = forms.DateField(widget=DATE)
    visit = forms.ChoiceField(required=False, help_text="Protocol CT/MRI visit this assessment belongs to.")
    modality = forms.ChoiceField(choices=Modality.choices)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, participant: Participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.fields["visit"].choices = visit_choices(participant, ("ct", "mri"))

    def clean_visit(self):
        pk = self.cleaned_data.get("visit")
        return self.participant.visits.filter(pk=pk).first() if pk else None


class AssessmentEditForm(VersionedFormMixin, AssessmentForm):
    reason = forms.CharField(help_text="Why is this assessment changed? (audited)")


class _LesionChoiceMixin(forms.Form):
    lesion = forms.ChoiceField()
    acquired_on = forms.DateField(widget=DATE, label="Acquisition date")
    visit = forms.ChoiceField(required=False)
    roi_label = forms.CharField(max_length=40, initial="whole lesion", label="ROI")

    def __init__(self, *args, participant: Participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.fields["lesion"].choices = [
            (str(les.pk), f"{les.label} — {les.organ}") for les in participant.lesions.filter(voided=False)
        ]
        self.fields["visit"].choices = visit_choices(participant, ("mri",))

    def clean_lesion(self):
        return self.participant.lesions.get(pk=self.cleaned_data["lesion"])

    def clean_visit(self):
        pk = self.cleaned_data.get("visit")
        return self.participant.visits.filter(pk=pk).first() if pk else None


class ParameterEntryForm(_LesionChoiceMixin):
    kind = forms.ChoiceField(choices=ParameterKind.choices)
    model = forms.CharField(
        max_length=24, required=False, help_text="e.g. extended_tofts, 2cxm, ivim_segmented"
    )
    fit_rms = forms.FloatField(required=False, label="Fit residual RMS")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in PARAMETER_FIELDS:
            self.fields[name] = forms.FloatField(required=False, label=PARAMETER_LABELS[name])

    def values(self) -> dict[str, float | None]:
        return {name: self.cleaned_data.get(name) for name in PARAMETER_FIELDS}


class CurveUploadForm(_LesionChoiceMixin):
    kind = forms.ChoiceField(choices=ParameterKind.choices)
    model = forms.ChoiceField(
        choices=[
            ("extended_tofts", "Extended Tofts"),
            ("tofts", "Tofts"),
            ("2cxm", "2CXM"),
            ("ivim_segmented", "IVIM segmented"),
            ("ivim_full", "IVIM full bounded"),
            ("dki", "DKI"),
        ],
    )
    upload = forms.FileField(
        help_text="CSV with header t_s, ct_mM, cp_mM (DCE) or b_s_mm2, signal (IVIM/DKI)."
    )


class VoxelwiseForm(_LesionChoiceMixin):
    dynamic = forms.FileField(help_text="4D NIfTI (x, y, z, t) of tissue concentration in mM.")
    mask = forms.FileField(help_text="3D NIfTI ROI mask (non-zero = inside).")
    aif = forms.FileField(
        required=False, help_text="AIF CSV t_s, cp_mM (plasma); empty = Parker population AIF."
    )
    population_delay_s = forms.FloatField(initial=0.0, label="Population AIF arrival delay (s)")


class MaskAnalysisForm(forms.Form):
    lesion = forms.ChoiceField()
    acquired_on = forms.DateField(widget=DATE, label="Acquisition date")
    modality = forms.ChoiceField(choices=[("mri", "MRI"), ("ct", "CT"), ("pet", "PET")])
    mask = forms.FileField(help_text="3D NIfTI lesion mask.")
    image = forms.FileField(required=False, help_text="Optional 3D NIfTI image for IBSI texture features.")
    bin_width = forms.FloatField(required=False, help_text="Fixed bin size for texture (image units).")

    def __init__(self, *args, participant: Participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.fields["lesion"].choices = [
            (str(les.pk), f"{les.label} — {les.organ}") for les in participant.lesions.filter(voided=False)
        ]

    def clean_lesion(self):
        return self.participant.lesions.get(pk=self.cleaned_data["lesion"])


class MapRoiForm(forms.Form):
    """A lesion's ROI on the voxel-wise maps of one of the participant's MRI map jobs."""

    job = forms.ModelChoiceField(queryset=None, label="Maps (MRI scan and model)")
    roi_label = forms.CharField(max_length=40, initial="whole lesion", label="ROI label")
    sphere = forms.RegexField(
        regex=r"^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,[0-9.]+$",
        required=False,
        label="Sphere X,Y,Z,R (patient mm)",
    )
    file = forms.FileField(required=False, label="…or a NIfTI mask, DICOM SEG or RTSTRUCT")
    segment = forms.CharField(
        max_length=64, required=False, label="SEG segment or RTSTRUCT ROI (when the file holds several)"
    )
    texture_map = forms.ChoiceField(
        required=False,
        label="IBSI texture and volume of the map (optional)",
        help_text="The map whose texture inside the ROI is computed, with the ROI's mesh volume.",
    )
    bin_width = forms.FloatField(
        required=False,
        min_value=0,
        label="Texture bin width (in the map's unit)",
        help_text="Fixed bin size, e.g. 0.01 /min for Ktrans or 0.00005 mm²/s for D.",
    )

    def __init__(self, *args, jobs=None, map_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["job"].queryset = jobs
        self.fields["job"].label_from_instance = lambda j: f"{j.scan.visit.name}: {j} (#{j.pk})"
        self.fields["texture_map"].choices = [("", "no texture"), *map_choices]

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("sphere")) == bool(data.get("file")):
            raise forms.ValidationError("give a sphere or a mask file (one of them)")
        return data
