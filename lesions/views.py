"""Thin pages of the lesion registry: lesions, assessments with live responses, lesion page, MRI tables."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from lesions import selectors, services
from lesions.forms import (
    AssessmentEditForm,
    AssessmentForm,
    CurveUploadForm,
    LesionEditForm,
    LesionForm,
    MaskAnalysisForm,
    ParameterEntryForm,
    VoxelwiseForm,
)
from lesions.models import (
    PARAMETER_FIELDS,
    PARAMETER_LABELS,
    Assessment,
    DerivedImage,
    Lesion,
    LesionRole,
    MaskAnalysis,
    MeasurementState,
    MriParameterSet,
    NonTargetState,
)
from trial import access, csv_safety
from trial.audit import AuditContext, history_for
from trial.pagination import paginate
from trial.selectors import participant_get, scoped_get
from trial.selectors import participant_list as trial_participant_list
from trial.versioning import VersionConflict
from trial.web import add_validation_errors, form_page, form_status, without_version


def _can_write(request: HttpRequest, participant: Any) -> bool:
    return access.can(request.user, services.CAPABILITY, participant.site_id)


def _form_page(request, form, participant, title, status_ok=200, multipart=False):
    return render(
        request,
        "trial/simple_form.html",
        {
            "form": form,
            "participant": participant,
            "title": title,
            "multipart": multipart,
        },
        status=form_status(form) if form.errors else status_ok,
    )


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("site", "q")}
    pager = paginate(request, trial_participant_list(user=request.user, filters=filters), noun="participants")
    return render(
        request,
        "lesions/overview.html",
        {"rows": selectors.response_rows(pager.items), "pager": pager, "filters": filters},
    )


@require_GET
def participant_page(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    return render(
        request,
        "lesions/participant.html",
        {
            "participant": participant,
            **selectors.registry(participant),
            "can_write": _can_write(request, participant),
            "plot_fields": [(f, PARAMETER_LABELS[f]) for f in PARAMETER_FIELDS],
        },
    )


def lesion_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, services.CAPABILITY, participant.site_id)
    ctx = AuditContext.from_request(request)
    return form_page(
        request,
        LesionForm(request.POST or None),
        lambda data: services.lesion_create(ctx=ctx, participant=participant, **data),
        title=f"New lesion — {participant.study_id}",
        success=lambda lesion: f"Lesion {lesion.label} added.",
        next_url=lambda _lesion: reverse("lesions:participant", kwargs={"participant_pk": participant.pk}),
        participant=participant,
        one_time=True,
    )


def lesion_edit(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    lesion = scoped_get(Lesion, user=request.user, pk=lesion_pk)
    access.require(request.user, services.CAPABILITY, lesion.participant.site_id)
    initial = {f: getattr(lesion, f) for f in ("label", "organ", "location", "nodal", "role", "description")}
    form = LesionEditForm(request.POST or None, initial=initial, record=lesion)
    if request.method == "POST" and form.is_valid():
        data, version = without_version(form.cleaned_data)
        reason = data.pop("reason")
        try:
            services.lesion_update(
                ctx=AuditContext.from_request(request), lesion=lesion, data=data, reason=reason, **version
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Lesion {lesion.label} saved; responses recomputed.")
            return redirect("lesions:lesion", lesion_pk=lesion.pk)
    return _form_page(request, form, lesion.participant, f"Edit lesion {lesion.label}")


@require_GET
def lesion_page(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    lesion = scoped_get(Lesion, user=request.user, pk=lesion_pk)
    return render(
        request,
        "lesions/lesion.html",
        {
            "lesion": lesion,
            "participant": lesion.participant,
            **selectors.lesion_timeline(lesion),
            "history": history_for(lesion),
            "can_write": _can_write(request, lesion.participant),
        },
    )


def assessment_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, services.CAPABILITY, participant.site_id)
    ctx = AuditContext.from_request(request)
    return form_page(
        request,
        AssessmentForm(request.POST or None, participant=participant),
        lambda data: services.assessment_create(ctx=ctx, participant=participant, **data),
        title=f"New assessment — {participant.study_id}",
        success=lambda a: f"Assessment {a.date} created: record the measurements.",
        next_url=lambda a: reverse("lesions:assessment", kwargs={"assessment_pk": a.pk}),
        participant=participant,
        one_time=True,
    )


def _entries_from_post(post: Any, lesions: list[Lesion]) -> dict[int, dict[str, Any]]:
    """Entries of the measurement grid; lesions left completely blank are skipped."""
    entries: dict[int, dict[str, Any]] = {}
    for les in lesions:
        state, value, nt = (
            post.get(f"state_{les.pk}", ""),
            post.get(f"value_{les.pk}", "").strip(),
            post.get(f"nt_{les.pk}", ""),
        )
        if les.role == LesionRole.NON_TARGET:
            if nt:
                entries[les.pk] = {"non_target_state": nt, "value_mm": value or None}
        elif value or (state and state != MeasurementState.MEASURED):
            entries[les.pk] = {"state": state or MeasurementState.MEASURED, "value_mm": value or None}
    return entries


def _versions_from_post(post: Any, lesions: list[Lesion]) -> dict[int, int]:
    """{lesion_pk: version of the stored measurement when the grid was opened (0: none)}; bad values skipped."""
    versions = {}
    for les in lesions:
        raw = str(post.get(f"mversion_{les.pk}", "")).strip()
        if raw.isdigit() and len(raw) < 10:
            versions[les.pk] = int(raw)
    return versions


def _grid(assessment: Assessment, lesions: list[Lesion], post: Any = None) -> list[dict[str, Any]]:
    current = {m.lesion_id: m for m in assessment.measurements.filter(voided=False)}
    rows = []
    for les in lesions:
        m = current.get(les.pk)
        if post is not None:
            state, value, nt = (
                post.get(f"state_{les.pk}", ""),
                post.get(f"value_{les.pk}", ""),
                post.get(f"nt_{les.pk}", ""),
            )
        else:
            state = m.state if m else ""
            value = "" if m is None or m.value_mm is None else str(m.value_mm)
            nt = m.non_target_state if m else ""
        rows.append(
            {"lesion": les, "state": state, "value": value, "nt": nt, "stored": m, "version": _version(m)}
        )
    return rows


def _version(measurement: Any) -> int:
    """The version the grid carries for a lesion: the stored measurement's, 0 when there is none."""
    return measurement.version if measurement is not None else 0


def _assessment_context(request, assessment, lesions, post=None, errors=None) -> dict[str, Any]:
    base = services.baseline_assessment(assessment.participant)
    is_baseline = base is not None and base.pk == assessment.pk
    visible = [les for les in lesions if not (is_baseline and les.role == LesionRole.NEW)]
    entries = _entries_from_post(post, visible) if post is not None else {}
    return {
        "assessment": assessment,
        "participant": assessment.participant,
        "is_baseline": is_baseline,
        "grid": _grid(assessment, visible, post),
        "errors": errors or {},
        "states": MeasurementState.choices,
        "nt_states": NonTargetState.choices,
        "live": selectors.preview(assessment, entries),
        "can_write": _can_write(request, assessment.participant),
        "history": history_for(assessment),
        "can_void": access.can(request.user, "void_lesions", assessment.participant.site_id),
    }


def assessment_page(request: HttpRequest, assessment_pk: int) -> HttpResponse:
    assessment = scoped_get(Assessment, user=request.user, pk=assessment_pk, voided=False)
    participant = assessment.participant
    lesions = list(participant.lesions.filter(voided=False))
    if request.method != "POST":
        return render(request, "lesions/assessment.html", _assessment_context(request, assessment, lesions))
    access.require(request.user, services.CAPABILITY, participant.site_id)
    try:
        n = services.measurements_record(
            ctx=AuditContext.from_request(request),
            assessment=assessment,
            entries=_entries_from_post(request.POST, lesions),
            reason=request.POST.get("reason", ""),
            expected_versions=_versions_from_post(request.POST, lesions),
        )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        ctx = _assessment_context(request, assessment, lesions, post=request.POST, errors=errors)
        # The kept input goes back with the current versions; after a conflict the user re-checks and saves.
        return render(
            request, "lesions/assessment.html", ctx, status=409 if isinstance(exc, VersionConflict) else 400
        )
    assessment.refresh_from_db()
    messages.success(
        request,
        f"{n} measurement(s) saved. Stored response: RECIST {assessment.recist_response or '—'}, "
        f"iRECIST {assessment.irecist_response or '—'}.",
    )
    return redirect("lesions:assessment", assessment_pk=assessment.pk)


def assessment_preview(request: HttpRequest, assessment_pk: int) -> HttpResponse:
    """htmx: the response the engine computes from the unsaved grid (POST; scoped first, so 404 wins)."""
    assessment = scoped_get(Assessment, user=request.user, pk=assessment_pk, voided=False)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    access.require(request.user, services.CAPABILITY, assessment.participant.site_id)
    lesions = list(assessment.participant.lesions.filter(voided=False))
    live = selectors.preview(assessment, _entries_from_post(request.POST, lesions))
    return render(request, "lesions/_live_response.html", {"live": live, "assessment": assessment})


def assessment_edit(request: HttpRequest, assessment_pk: int) -> HttpResponse:
    assessment = scoped_get(Assessment, user=request.user, pk=assessment_pk, voided=False)
    participant = assessment.participant
    access.require(request.user, services.CAPABILITY, participant.site_id)
    initial = {
        "date": assessment.date,
        "visit": assessment.visit_id or "",
        "modality": assessment.modality,
        "notes": assessment.notes,
    }
    form = AssessmentEditForm(
        request.POST or None, participant=participant, initial=initial, record=assessment
    )
    if request.method == "POST" and form.is_valid():
        data, version = without_version(form.cleaned_data)
        reason = data.pop("reason")
        try:
            services.assessment_update(
                ctx=AuditContext.from_request(request),
                assessment=assessment,
                data=data,
                reason=reason,
                **version,
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return redirect("lesions:assessment", assessment_pk=assessment.pk)
    return _form_page(request, form, participant, f"Edit assessment {assessment.date}")


# ------------------------------------------------------------------ MRI and volumetry


@require_GET
def parameters_page(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    data = selectors.participant_parameters(participant)
    return render(
        request,
        "lesions/parameters.html",
        {
            "participant": participant,
            **data,
            "can_write": _can_write(request, participant),
        },
    )


def _mri_form(request, participant_pk, form_class, title, action, multipart=False):
    participant = participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, services.CAPABILITY, participant.site_id)
    form = form_class(request.POST or None, request.FILES or None, participant=participant)
    if request.method == "POST" and form.is_valid():
        try:
            action(AuditContext.from_request(request), form.cleaned_data, form)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Saved; fits run in the background and appear below when done.")
            return redirect("lesions:parameters", participant_pk=participant.pk)
    return _form_page(request, form, participant, f"{title} — {participant.study_id}", multipart=multipart)


def _common(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "lesion": d["lesion"],
        "acquired_on": d["acquired_on"],
        "visit": d["visit"],
        "roi_label": d["roi_label"],
    }


def parameters_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    def act(ctx, d, form):
        services.parameters_enter(
            ctx=ctx,
            **_common(d),
            kind=d["kind"],
            model=d["model"],
            fit_rms=d["fit_rms"],
            values=form.values(),
        )

    return _mri_form(request, participant_pk, ParameterEntryForm, "Enter MRI parameters", act)


def curve_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    def act(ctx, d, form):
        services.curve_upload(ctx=ctx, **_common(d), kind=d["kind"], model=d["model"], upload=d["upload"])

    return _mri_form(request, participant_pk, CurveUploadForm, "Upload a curve to fit", act, multipart=True)


def voxelwise_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    def act(ctx, d, form):
        services.voxelwise_upload(
            ctx=ctx,
            **_common(d),
            dynamic=d["dynamic"],
            mask=d["mask"],
            aif=d["aif"],
            population_delay_s=d["population_delay_s"] or 0.0,
        )

    return _mri_form(request, participant_pk, VoxelwiseForm, "Voxel-wise DCE maps", act, multipart=True)


def mask_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    def act(ctx, d, form):
        services.mask_analysis_upload(
            ctx=ctx,
            lesion=d["lesion"],
            acquired_on=d["acquired_on"],
            mask=d["mask"],
            image=d["image"],
            bin_width=d["bin_width"],
            modality=d["modality"],
        )

    return _mri_form(
        request, participant_pk, MaskAnalysisForm, "Lesion mask: volume and texture", act, multipart=True
    )


@require_GET
def parameter_set_page(request: HttpRequest, paramset_pk: int) -> HttpResponse:
    ps = scoped_get(MriParameterSet, user=request.user, pk=paramset_pk)
    values = [(PARAMETER_LABELS[f], v) for f, v in ps.values().items()]
    return render(
        request,
        "lesions/parameter_set.html",
        {
            "ps": ps,
            "participant": ps.participant,
            "values": values,
            "images": ps.derived_images.filter(voided=False),
            "history": history_for(ps),
        },
    )


@require_GET
def mask_analysis_page(request: HttpRequest, analysis_pk: int) -> HttpResponse:
    ma = scoped_get(MaskAnalysis, user=request.user, pk=analysis_pk)
    return render(
        request,
        "lesions/mask_analysis.html",
        {
            "ma": ma,
            "participant": ma.participant,
            "features": sorted(ma.texture_features.items()),
        },
    )


@require_GET
def derived_file(request: HttpRequest, derived_pk: int, what: str) -> FileResponse:
    img = scoped_get(DerivedImage, user=request.user, pk=derived_pk)
    path = {"preview": img.preview, "nifti": img.file}.get(what)
    if not path:
        raise Http404
    name = path.rsplit("/", 1)[-1]
    try:
        handle = default_storage.open(path, "rb")
    except FileNotFoundError as exc:
        raise Http404("The file of this map is missing from storage.") from exc
    return FileResponse(
        handle,
        as_attachment=what == "nifti",
        filename=name,
        content_type="image/png" if what == "preview" else "application/octet-stream",
    )


@require_GET
def parameter_plot(request: HttpRequest, participant_pk: int, field: str) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    if field == "sum":
        return HttpResponse(selectors.sum_plot_png(participant), content_type="image/png")
    if field not in PARAMETER_FIELDS:
        raise Http404
    return HttpResponse(selectors.parameter_plot_png(participant, field), content_type="image/png")


# ------------------------------------------------------------------ CSV


def _csv(name: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv_safety.safe_writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@require_GET
def export_csv(request: HttpRequest, participant_pk: int, what: str) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    sid = participant.study_id
    if what == "measurements":
        qs = participant.lesion_measurements.filter(voided=False).select_related("assessment", "lesion")
        rows = [
            [
                sid,
                m.assessment.date,
                m.lesion.label,
                m.lesion.organ,
                m.lesion.nodal,
                m.lesion.role,
                m.state,
                m.value_mm,
                m.effective_mm,
                m.non_target_state,
            ]
            for m in qs
        ]
        header = [
            "study_id",
            "date",
            "lesion",
            "organ",
            "nodal",
            "role",
            "state",
            "value_mm",
            "counted_mm",
            "non_target_state",
        ]
    elif what == "responses":
        qs = participant.assessments.filter(voided=False).order_by("date")
        rows = [
            [
                sid,
                a.date,
                a.modality,
                a.sum_mm,
                a.nadir_mm,
                a.target_response,
                a.non_target_response,
                a.new_lesions_present,
                a.new_lesion_target_sum_mm,
                a.recist_response,
                a.irecist_response,
                "; ".join(f"{k}:{v.get('code')}" for k, v in a.reasons.items()),
                a.engine_error,
            ]
            for a in qs
        ]
        header = [
            "study_id",
            "date",
            "modality",
            "sum_mm",
            "nadir_mm",
            "target",
            "non_target",
            "new_lesions",
            "new_lesion_target_sum_mm",
            "recist",
            "irecist",
            "rule_codes",
            "engine_error",
        ]
    elif what == "mri":
        qs = selectors.participant_parameters(participant)["parameter_sets"]
        rows = [
            [
                sid,
                p.roi.lesion.label,
                p.roi.acquired_on,
                p.roi.label,
                p.kind,
                p.method,
                p.model,
                p.status,
                *[getattr(p, f) for f in PARAMETER_FIELDS],
                p.fit_rms,
            ]
            for p in qs
        ]
        header = [
            "study_id",
            "lesion",
            "date",
            "roi",
            "kind",
            "method",
            "model",
            "status",
            *PARAMETER_FIELDS,
            "fit_rms",
        ]
    elif what == "volumes":
        qs = participant.mask_analyses.filter(voided=False).select_related("lesion")
        rows = [
            [
                sid,
                m.lesion.label,
                m.acquired_on,
                m.modality,
                m.status,
                m.voxel_count,
                m.voxel_volume_mm3,
                m.mesh_volume_mm3,
                m.mesh_area_mm2,
                len(m.texture_features),
            ]
            for m in qs
        ]
        header = [
            "study_id",
            "lesion",
            "date",
            "modality",
            "status",
            "voxel_count",
            "voxel_volume_mm3",
            "mesh_volume_mm3",
            "mesh_area_mm2",
            "n_texture_features",
        ]
    else:
        raise Http404
    return _csv(f"{sid}_{what}.csv", header, rows)
