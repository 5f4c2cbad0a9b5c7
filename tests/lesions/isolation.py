"""Site-isolation walk builders for the lesions app's URL kwargs."""

from __future__ import annotations

import nibabel as nib
import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile

from lesions import services
from lesions.models import DerivedImage, JobStatus, MaskAnalysis, MriParameterSet
from tests.factories import ctx_for, make_user
from tests.lesions.helpers import day
from trial.models import Role


def _radiologist(participant):
    return make_user("iso_radiologist", (participant.site, Role.RADIOLOGIST))


def _lesion(participant):
    les = participant.lesions.filter(label="ISO1").first()
    if les is None:
        les = services.lesion_create(
            ctx=ctx_for(_radiologist(participant)),
            participant=participant,
            label="ISO1",
            organ="liver",
            role="target",
        )
    return les


def _assessment(participant):
    a = participant.assessments.filter(voided=False).first()
    if a is None:
        a = services.assessment_create(
            ctx=ctx_for(_radiologist(participant)), participant=participant, date=day(0)
        )
    return a


def _paramset(participant):
    ps = MriParameterSet.objects.filter(participant=participant).first()
    if ps is None:
        ps = services.parameters_enter(
            ctx=ctx_for(_radiologist(participant)),
            lesion=_lesion(participant),
            acquired_on=day(0),
            kind="dce",
            values={"ktrans_per_min": 0.2, "ve": 0.3},
        )
    return ps


def _derived(participant):
    from trial.audit import audited_create

    img = DerivedImage.objects.filter(participant=participant).first()
    if img is None:
        img = DerivedImage(
            participant=participant,
            parameter_set=_paramset(participant),
            parameter="ve",
            file="lesions/derived/iso_ve.nii",
            preview="lesions/derived/iso_ve.png",
        )
        audited_create(img, ctx=ctx_for(_radiologist(participant)))
    return img


def _mask(participant):
    ma = MaskAnalysis.objects.filter(participant=participant).first()
    if ma is None:
        arr = np.zeros((4, 4, 4), dtype=np.uint8)
        arr[1:3, 1:3, 1:3] = 1
        upload = SimpleUploadedFile("m.nii", nib.Nifti1Image(arr, np.eye(4)).to_bytes())
        ma = services.mask_analysis_upload(
            ctx=ctx_for(_radiologist(participant)),
            lesion=_lesion(participant),
            acquired_on=day(0),
            mask=upload,
        )
        ma.status = JobStatus.DONE
    return ma


KWARG_BUILDERS = {
    "lesion_pk": lambda participant, user: _lesion(participant).pk,
    "assessment_pk": lambda participant, user: _assessment(participant).pk,
    "paramset_pk": lambda participant, user: _paramset(participant).pk,
    "derived_pk": lambda participant, user: _derived(participant).pk,
    "analysis_pk": lambda participant, user: _mask(participant).pk,
}

# URLs with non-object kwargs (a plot field, an export name, a file kind).
PATTERN_BUILDERS = {
    "lesions:plot": lambda participant, user: {"participant_pk": participant.pk, "field": "ktrans_per_min"},
    "lesions:export": lambda participant, user: {"participant_pk": participant.pk, "what": "responses"},
    "lesions:derived_file": lambda participant, user: {
        "derived_pk": _derived(participant).pk,
        "what": "preview",
    },
}

READ_ROLE_POSTS_ALLOWED: set[str] = set()
