"""The lesion's MRI parameters from an ROI on an MRI scan's voxel-wise maps (page; the service is
lesions.services.mri_maps)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from lesions.forms import MapRoiForm
from lesions.models import Lesion
from lesions.services import CAPABILITY
from lesions.services.mri_maps import lesion_parameters_from_maps
from mri import selectors as mri_selectors
from mri import services_rois
from trial import access
from trial.audit import AuditContext
from trial.idempotency import submit_once
from trial.selectors import scoped_get
from trial.web import add_validation_errors, finish_form, form_status


def lesion_map_roi(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    lesion = scoped_get(Lesion, user=request.user, pk=lesion_pk)
    access.require(request.user, CAPABILITY, lesion.participant.site_id)
    jobs = mri_selectors.done_jobs_for_participant(lesion.participant)
    map_choices = mri_selectors.map_parameter_choices(jobs)
    form = MapRoiForm(request.POST or None, request.FILES or None, jobs=jobs, map_choices=map_choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data.get("file")
        content = upload.read() if upload else None
        kind = services_rois.file_kind(content) if content is not None else ""

        def save():
            return lesion_parameters_from_maps(
                ctx=AuditContext.from_request(request),
                lesion=lesion,
                job=data["job"],
                roi_label=data["roi_label"],
                sphere=data.get("sphere") or None,
                nifti=content if kind == "nifti" else None,
                seg=content if kind == "seg" else None,
                rtstruct=content if kind == "rtstruct" else None,
                segment=data.get("segment") or "",
                texture_map=data.get("texture_map") or "",
                bin_width=data.get("bin_width"),
            )

        try:
            outcome = submit_once(
                request, save, lambda _ps: reverse("lesions:lesion", kwargs={"lesion_pk": lesion.pk})
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return finish_form(
                request,
                outcome,
                lambda ps: (
                    f"MRI parameters of {lesion.label} stored from the maps (ROI of {ps.voxel_count} voxel(s))."
                ),
            )
    return render(
        request,
        "trial/simple_form.html",
        {
            "form": form,
            "participant": lesion.participant,
            "title": f"MRI parameters of {lesion.participant.study_id} {lesion.label} from the maps",
            "multipart": True,
        },
        status=form_status(form) if form.errors else 200,
    )
