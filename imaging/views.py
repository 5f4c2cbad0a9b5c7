"""Thin PET pages: worklist, scan page, streamed series upload, VOIs, findings, distribution."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from imaging import plots, selectors, services, viewer
from imaging.forms import AcknowledgeForm, CtUploadForm, FileVoiForm, SeriesChoiceForm, SphereVoiForm
from imaging.models import Finding, Modality, UploadState, VoiResult, VoiSource
from imaging.services.ct_upload import ct_upload_link
from imaging.upload import (
    Limits,
    StreamedUpload,
    UploadRefused,
    streamed_upload,
    temp_upload_dir,
)
from trial import access, csv_safety, plot_cache
from trial.audit import AuditContext
from trial.pagination import paginate
from trial.query_guard import refuse_bad_choices
from trial.selectors import participant_get, scoped_get
from trial.web import add_validation_errors


def _post_only(request: HttpRequest) -> HttpResponse | None:
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def _read_only(request: HttpRequest) -> HttpResponse | None:
    """Read pages answer 405 to writes (after scoping, so another site still sees 404)."""
    return None if request.method in ("GET", "HEAD") else HttpResponseNotAllowed(["GET", "HEAD"])


def worklist(request: HttpRequest) -> HttpResponse:
    """Bucket counts per site, then one bucket (of one site or all) a page at a time. Reads only: scans are
    planned when their visits are (imaging.hooks.plan_scans_for_visit)."""
    if (refused := _read_only(request)) is not None:
        return refused
    sites = access.sites_visible_to(request.user)
    if bad := refuse_bad_choices(request, bucket=list(selectors.WORKLIST_BUCKETS)):
        return bad
    bucket = request.GET.get("bucket") or "overdue"
    site_code = request.GET.get("site", "")
    scans = selectors.worklist_scans(user=request.user, bucket=bucket, site_code=site_code)
    pager = paginate(request, scans, noun="scans")
    context = {
        "rows": selectors.worklist_counts(user=request.user),
        "buckets": selectors.WORKLIST_BUCKETS,
        "bucket": bucket,
        "bucket_title": selectors.WORKLIST_BUCKETS[bucket],
        "site_code": site_code,
        "sites": sites,
        "scans": pager.items,
        "pager": pager,
    }
    return render(request, "imaging/worklist.html", context)


def _scan_context(request: HttpRequest, scan) -> dict:
    upload = selectors.latest_upload(scan)
    vois = selectors.scan_vois(scan)
    return {
        "scan": scan,
        "participant": scan.participant,
        "upload": upload,
        "status": selectors.effective_status(scan),
        "findings": scan.findings.filter(voided=False).order_by("acknowledged", "id"),
        "vois": [(v, selectors.result_or_none(v)) for v in vois],
        "dose": selectors.tracer_dose_for(scan),
        "can_edit": access.can(request.user, "imaging", scan.participant.site_id),
        "can_void": access.can(request.user, "void_imaging", scan.participant.site_id),
        "can_override": access.can(request.user, "override_imaging_block", scan.participant.site_id),
        "polling": upload is not None and upload.state in (UploadState.STORED, UploadState.PROCESSING),
    }


def _detail_context(request: HttpRequest, scan, **forms) -> dict:
    """Everything the scan page shows; `forms` replaces a blank form by one carrying errors."""
    ctx = _scan_context(request, scan)
    ctx["sphere_form"] = forms.get("sphere_form") or SphereVoiForm(participant=scan.participant)
    ctx["file_form"] = forms.get("file_form") or FileVoiForm(participant=scan.participant)
    ctx["ct_form"] = forms.get("ct_form") or CtUploadForm()
    ctx["ack_form"] = AcknowledgeForm()
    upload = ctx["upload"]
    live = upload is not None and not upload.voided
    ctx["mip_overlay"] = viewer.mip_overlay(upload) if live else None
    ctx["linked_ct"] = viewer.linked_ct(upload) if live else None
    return ctx


def scan_detail(request: HttpRequest, scan_pk: int) -> HttpResponse:
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if (refused := _read_only(request)) is not None:
        return refused
    return render(request, "imaging/scan_detail.html", _detail_context(request, scan))


def scan_state(request: HttpRequest, scan_pk: int) -> HttpResponse:
    """htmx fragment polled while the worker runs."""
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if (refused := _read_only(request)) is not None:
        return refused
    ctx = _scan_context(request, scan)
    response = render(request, "imaging/_upload_state.html", ctx)
    if not ctx["polling"] and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"  # reload the page once: results and MIP appear
    return response


def scan_mip(request: HttpRequest, scan_pk: int) -> HttpResponse:
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if (refused := _read_only(request)) is not None:
        return refused
    upload = selectors.latest_upload(scan)
    if upload is None or not upload.mip_path or not default_storage.exists(upload.mip_path):
        raise Http404("No MIP yet.")
    return FileResponse(default_storage.open(upload.mip_path, "rb"), content_type="image/png")


def scan_mark_acquired(request: HttpRequest, scan_pk: int) -> HttpResponse:
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if (refused := _post_only(request)) is not None:
        return refused
    access.require(request.user, "imaging", scan.participant.site_id)
    try:
        services.scan_mark_acquired(ctx=AuditContext.from_request(request), scan=scan)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("imaging:scan_detail", scan_pk=scan.pk)


@csrf_exempt
def scan_upload(request: HttpRequest, scan_pk: int) -> HttpResponse:
    """GET: the upload page. POST: files streamed to a temp dir by our handler, then validated and stored.

    csrf_exempt only so that our upload handler is installed before anything reads the body; the POST
    branch is CSRF-checked by `_receive_upload` (csrf_protect).
    """
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if scan.modality == Modality.MRI and request.method != "POST":
        return redirect("mri:scan", scan_pk=scan.pk)  # MR series are uploaded on the MRI page (mri app)
    if request.method != "POST":
        return render(
            request,
            "imaging/upload.html",
            {
                "scan": scan,
                "participant": scan.participant,
                "form": SeriesChoiceForm(),
                "limits": Limits.from_settings(),
                "block_limits": services.block_limits(),
            },
        )
    access.require(request.user, "imaging", scan.participant.site_id)
    with streamed_upload(request) as stream:
        return _receive_upload(request, scan=scan, stream=stream)


@csrf_protect
def _receive_upload(request, *, scan, stream: StreamedUpload):
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    form = SeriesChoiceForm(request.POST)
    try:
        candidates = stream.candidates(request)
        form.is_valid()
        upload = services.series_upload_ingest(
            ctx=AuditContext.from_request(request),
            scan=scan,
            files=candidates,
            work_dir=stream.tmp,
            series_uid=(form.cleaned_data.get("series_instance_uid") or None) if form.is_valid() else None,
        )
    except UploadRefused as exc:
        return _upload_error(request, scan, form, {"files": [str(exc)]}, wants_json)
    except ValidationError as exc:
        return _upload_error(request, scan, form, _error_dict(exc), wants_json)
    url = reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk})
    if wants_json:
        return JsonResponse(
            {
                "ok": True,
                "upload": upload.pk,
                "state": upload.state,
                "redirect": url,
                "findings": list(upload.findings.values("code", "severity", "message")),
            },
            status=201,
        )
    if upload.state == UploadState.BLOCKED:
        messages.error(request, upload.state_message)
    else:
        messages.success(request, f"Series stored ({upload.instance_count} instances, de-identified).")
    return redirect(url)


@csrf_exempt
def scan_ct_upload(request: HttpRequest, scan_pk: int) -> HttpResponse:
    """POST: the CT of this PET/CT uploaded after its PET series (imaging.services.ct_upload), received like a
    PET upload (csrf_exempt only to install the streaming handler first; `_receive_ct` is CSRF-checked)."""
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if (refused := _post_only(request)) is not None:
        return refused
    access.require(request.user, "imaging", scan.participant.site_id)
    with streamed_upload(request) as stream:
        return _receive_ct(request, scan=scan, stream=stream)


@csrf_protect
def _receive_ct(request, *, scan, stream: StreamedUpload):
    form = CtUploadForm(request.POST)
    try:
        candidates = stream.candidates(request)
        form.is_valid()
        link = ct_upload_link(
            ctx=AuditContext.from_request(request),
            scan=scan,
            files=candidates,
            work_dir=stream.tmp,
            series_uid=(form.cleaned_data.get("series_instance_uid") or None) if form.is_valid() else None,
        )
    except (UploadRefused, ValidationError) as exc:
        errors = {"files": [str(exc)]} if isinstance(exc, UploadRefused) else _error_dict(exc)
        for field, messages_ in errors.items():
            for message in messages_:
                form.add_error(field if field in form.fields else None, message)
        ctx = _detail_context(request, scan, ct_form=form)
        return render(request, "imaging/scan_detail.html", ctx, status=400)
    ct = link.linked
    if link.created:
        messages.success(
            request,
            f"CT linked: “{ct.series_description}”, {ct.instance_count} slices, de-identified with the PET's keys "
            "(same frame of reference as the PET series).",
        )
    else:
        messages.info(request, f"This CT is already linked (CT #{ct.pk}); nothing new was stored.")
    return redirect("imaging:scan_detail", scan_pk=scan.pk)


def _error_dict(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"files": exc.messages}


def upload_override(request: HttpRequest, scan_pk: int, upload_pk: int) -> HttpResponse:
    """POST: let a blocked upload through with a reason (radiologist or data manager)."""
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if (refused := _post_only(request)) is not None:
        return refused
    upload = scan.uploads.filter(pk=upload_pk).first()
    if upload is None:
        raise Http404("No such upload on this scan.")
    try:
        services.upload_override(
            ctx=AuditContext.from_request(request), upload=upload, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Block overridden on upload #{upload.pk}; processing proceeds.")
    return redirect("imaging:scan_detail", scan_pk=scan.pk)


def _upload_error(request, scan, form, errors: dict, wants_json: bool) -> HttpResponse:
    if wants_json:
        return JsonResponse({"ok": False, "errors": errors}, status=400)
    for field, messages_ in errors.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)
    return render(
        request,
        "imaging/upload.html",
        {
            "scan": scan,
            "participant": scan.participant,
            "form": form,
            "limits": Limits.from_settings(),
            "block_limits": services.block_limits(),
        },
        status=400,
    )


def voi_sphere_new(request: HttpRequest, scan_pk: int) -> HttpResponse:
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if (refused := _post_only(request)) is not None:
        return refused
    access.require(request.user, "imaging", scan.participant.site_id)
    form = SphereVoiForm(request.POST, participant=scan.participant)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.voi_create_sphere(
                ctx=AuditContext.from_request(request),
                scan=scan,
                name=d["name"],
                kind=d["kind"],
                organ=d["organ"],
                centre_mm=(d["centre_x"], d["centre_y"], d["centre_z"]),
                radius_mm=d["radius_mm"],
                lesion=d["lesion"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"VOI {d['name']} added; results are being computed.")
            return redirect("imaging:scan_detail", scan_pk=scan.pk)
    return render(
        request, "imaging/scan_detail.html", _detail_context(request, scan, sphere_form=form), status=400
    )


def voi_file_new(request: HttpRequest, scan_pk: int) -> HttpResponse:
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if (refused := _post_only(request)) is not None:
        return refused
    access.require(request.user, "imaging", scan.participant.site_id)
    form = FileVoiForm(request.POST, request.FILES, participant=scan.participant)
    if form.is_valid():
        d = form.cleaned_data
        with temp_upload_dir() as tmp:
            path = _save_mask_upload(d["mask_file"], tmp, d["source"])
            try:
                vois = services.voi_create_from_file(
                    ctx=AuditContext.from_request(request),
                    scan=scan,
                    source=d["source"],
                    path=path,
                    work_dir=tmp,
                    name=d["name"],
                    kind=d["kind"],
                    organ=d["organ"],
                    roi=d["roi"],
                    lesion=d["lesion"],
                )
            except ValidationError as exc:
                add_validation_errors(form, exc)
            else:
                messages.success(request, f"{len(vois)} VOI(s) added from the {d['source']} file.")
                return redirect("imaging:scan_detail", scan_pk=scan.pk)
    return render(
        request, "imaging/scan_detail.html", _detail_context(request, scan, file_form=form), status=400
    )


def _save_mask_upload(uploaded, tmp: Path, source: str) -> Path:
    name = (uploaded.name or "").lower()
    suffix = ".nii.gz" if name.endswith(".gz") else ".nii" if source == VoiSource.NIFTI else ".dcm"
    path = tmp / f"mask{suffix}"
    with open(path, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return path


def finding_acknowledge(request: HttpRequest, scan_pk: int, finding_pk: int) -> HttpResponse:
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    finding = scoped_get(Finding, user=request.user, pk=finding_pk, scan=scan)
    if (refused := _post_only(request)) is not None:
        return refused
    access.require(request.user, "imaging", scan.participant.site_id)
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            services.finding_acknowledge(
                ctx=AuditContext.from_request(request), finding=finding, note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Finding {finding.code} acknowledged.")
    else:
        messages.error(request, "Give a review note to acknowledge a finding.")
    return redirect("imaging:scan_detail", scan_pk=scan.pk)


def distribution(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    if (refused := _read_only(request)) is not None:
        return refused
    rows = selectors.distribution_rows(participant)
    return render(
        request,
        "imaging/distribution.html",
        {
            "participant": participant,
            "rows": rows,
            "table": plots.pivot(rows),
        },
    )


def distribution_plot(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    if (refused := _read_only(request)) is not None:
        return refused
    version = plot_cache.participant_version(participant.pk) + plot_cache.data_version(
        VoiResult.objects.filter(participant=participant), stamp="computed_at"
    )
    png = plot_cache.cached_bytes(
        "pet-distribution",
        [participant.pk],
        version,
        lambda: plots.distribution_png(selectors.distribution_rows(participant), participant.study_id),
    )
    return HttpResponse(png, content_type="image/png")


def distribution_csv(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    if (refused := _read_only(request)) is not None:
        return refused
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{participant.study_id}-pet-distribution.csv"'
    writer = csv_safety.safe_writer(response)
    writer.writerow(plots.CSV_COLUMNS)
    for row in selectors.distribution_rows(participant):
        writer.writerow(plots.csv_row(participant.study_id, row))
    return response
