"""MRI scan page: MR series upload (streamed, validated, de-identified), series chooser, map jobs and previews."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_safe

from imaging.upload import (
    Limits,
    Received,
    StreamToDirHandler,
    UploadRefused,
    copy_uploaded,
    expand,
    streamed_upload,
)
from mri import selectors, services, services_rois
from mri.forms import MapJobForm, MrUploadForm, RoiForm
from mri.models import JobState
from trial import access
from trial.audit import AuditContext


def _context(request: HttpRequest, scan, **extra) -> dict:
    uploads = selectors.series_for_scan(scan)
    jobs = list(selectors.jobs_for_scan(scan))
    return {
        "scan": scan,
        "participant": scan.participant,
        "uploads": uploads,
        "jobs": jobs,
        "polling": any(j.state in (JobState.QUEUED, JobState.RUNNING) for j in jobs),
        "can_edit": access.can(request.user, services.CAPABILITY, scan.participant.site_id),
        "can_void": access.can(request.user, access.void_capability("mri"), scan.participant.site_id),
        "upload_form": extra.pop("upload_form", None) or MrUploadForm(),
        "job_form": extra.pop("job_form", None) or MapJobForm(uploads=uploads),
        "limits": Limits.from_settings(),
        "roi_form": extra.pop("roi_form", None) or RoiForm(),
        **extra,
    }


def scan_page(request: HttpRequest, scan_pk: int) -> HttpResponse:
    scan = selectors.mri_scan_get(user=request.user, pk=scan_pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return render(request, "mri/scan.html", _context(request, scan))


@require_safe
def jobs_fragment(request: HttpRequest, scan_pk: int) -> HttpResponse:
    scan = selectors.mri_scan_get(user=request.user, pk=scan_pk)
    return render(request, "mri/_jobs.html", _context(request, scan))


@require_safe
def job_fragment(request: HttpRequest, job_pk: int) -> HttpResponse:
    """One job's article, polled by htmx while the job is queued or running."""
    job = selectors.job_get(user=request.user, pk=job_pk)
    can_void = access.can(request.user, access.void_capability("mri"), job.participant.site_id)
    return render(request, "mri/_job.html", {"job": job, "scan": job.scan, "can_void": can_void})


@csrf_exempt
def series_upload(request: HttpRequest, scan_pk: int) -> HttpResponse:
    """POST: files streamed to a temp dir (imaging.upload), then validated, de-identified and stored."""
    scan = selectors.mri_scan_get(user=request.user, pk=scan_pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    access.require(request.user, services.CAPABILITY, scan.participant.site_id)
    with streamed_upload(request) as stream:
        return _receive(request, scan, stream.tmp, stream.received, stream.handler, stream.limits)


@csrf_protect
def _receive(
    request, scan, tmp: Path, received: Received, handler: StreamToDirHandler, limits: Limits
) -> HttpResponse:
    form = MrUploadForm(request.POST)
    files = request.FILES.getlist("files")
    try:
        if handler.error:
            raise UploadRefused(handler.error)
        if not form.is_valid():
            raise ValidationError(form.errors)
        copy_uploaded(files, received, limits)
        candidates = expand(received, tmp, limits)
        services.series_upload_ingest(
            ctx=AuditContext.from_request(request),
            scan=scan,
            kind=form.cleaned_data["kind"],
            files=candidates,
            work_dir=tmp,
            series_uid=form.cleaned_data.get("series_instance_uid") or None,
        )
    except UploadRefused as exc:
        form.add_error(None, str(exc))
        return render(request, "mri/scan.html", _context(request, scan, upload_form=form), status=400)
    except services.SeriesChoiceNeeded as exc:
        form.add_error("series_instance_uid", exc.messages[0])
        ctx = _context(request, scan, upload_form=form, series_choices=exc.series)
        return render(request, "mri/scan.html", ctx, status=400)
    except ValidationError as exc:
        for field, errs in (exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}).items():
            for e in errs:
                form.add_error(field if field in form.fields else None, e)
        return render(request, "mri/scan.html", _context(request, scan, upload_form=form), status=400)
    return redirect("mri:scan", scan_pk=scan.pk)


def job_create(request: HttpRequest, scan_pk: int) -> HttpResponse:
    scan = selectors.mri_scan_get(user=request.user, pk=scan_pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    access.require(request.user, services.CAPABILITY, scan.participant.site_id)
    form = MapJobForm(request.POST, uploads=selectors.series_for_scan(scan))
    if form.is_valid():
        data = form.cleaned_data
        options = {k: data.get(k) for k in ("t10_ms", "r1", "hematocrit", "fit_delay")}
        options["aif"] = "parker"
        try:
            services.map_job_create(
                ctx=AuditContext.from_request(request),
                series=data["series"],
                model=data["model"],
                vfa=data.get("vfa"),
                options=options,
            )
        except ValidationError as exc:
            for field, errs in exc.message_dict.items():
                for e in errs:
                    form.add_error(field if field in form.fields else None, e)
        else:
            return redirect("mri:scan", scan_pk=scan.pk)
    return render(request, "mri/scan.html", _context(request, scan, job_form=form), status=400)


def roi_add(request: HttpRequest, job_pk: int) -> HttpResponse:
    job = selectors.job_get(user=request.user, pk=job_pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    access.require(request.user, services.CAPABILITY, job.participant.site_id)
    form = RoiForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        upload = data.get("file")
        content = upload.read() if upload else None
        kind = services_rois.file_kind(content) if content else ""
        try:
            services_rois.roi_add(
                ctx=AuditContext.from_request(request),
                job=job,
                name=data["name"],
                sphere=data.get("sphere") or None,
                nifti=content if kind == "nifti" else None,
                seg=content if kind == "seg" else None,
                rtstruct=content if kind == "rtstruct" else None,
            )
        except ValidationError as exc:
            for errs in exc.message_dict.values():
                for e in errs:
                    form.add_error(None, e)
        else:
            return redirect("mri:scan", scan_pk=job.scan_id)
    ctx = _context(request, job.scan, roi_form=form, roi_job=job.pk)
    return render(request, "mri/scan.html", ctx, status=400)


@require_safe
def map_preview(request: HttpRequest, map_pk: int) -> HttpResponse:
    m = selectors.map_get(user=request.user, pk=map_pk)
    if not default_storage.exists(m.preview_path):
        raise Http404("No preview.")
    return FileResponse(default_storage.open(m.preview_path, "rb"), content_type="image/png")


@require_safe
def map_file(request: HttpRequest, map_pk: int, fmt: str) -> HttpResponse:
    m = selectors.map_get(user=request.user, pk=map_pk)
    path = m.nifti_path if fmt == "nii" else m.parametric_map_path
    if not path or not default_storage.exists(path):
        raise Http404("No file.")
    name = f"{m.parameter}.nii" if fmt == "nii" else f"{m.parameter}_parametric_map.dcm"
    ctype = "application/octet-stream" if fmt == "nii" else "application/dicom"
    return FileResponse(
        default_storage.open(path, "rb"), content_type=ctype, as_attachment=True, filename=name
    )
