"""Pages: bulk exports with progress and download; API token issue/revoke for data managers."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from exports import bulk, selectors, services
from exports.api_routes import UNROUTED
from exports.forms import RevokeForm, TokenIssueForm
from exports.limits import ExportLimitReached
from exports.models import ExportJob
from exports.permissions import has_only_read_roles
from exports.resources import load_all
from trial.audit import AuditContext
from trial.web import add_validation_errors


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "exports/index.html",
        {
            "jobs": selectors.export_jobs_for(request.user).order_by("-id")[:50],
            "resources": [r for name, r in load_all().items() if name not in UNROUTED],
            "can_start": services.can_start_export(request.user),
            "is_data_manager": selectors.is_data_manager(request.user),
        },
    )


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    try:
        job = services.export_job_start(ctx=AuditContext.from_request(request))
    except ExportLimitReached as exc:
        messages.error(request, f"{exc} Try again in {exc.retry_after} seconds.")
        return redirect("exports_index")
    messages.success(request, f"Bulk export {job.pk} queued.")
    return redirect("exports_index")


@require_GET
def job_status(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(selectors.export_jobs_for(request.user), pk=job_id)
    return render(request, "exports/_job_row.html", {"job": job})


@require_GET
def download(request: HttpRequest, job_id: int) -> FileResponse:
    job = get_object_or_404(selectors.export_jobs_for(request.user), pk=job_id)
    if job.status != ExportJob.Status.DONE:
        raise Http404("This export is not ready.")
    services.export_job_downloaded(ctx=AuditContext.from_request(request), job=job)
    return FileResponse(
        bulk.open_zip_bytes(job),
        as_attachment=True,
        filename=f"cd8pet-export-{job.pk}.zip",
        content_type="application/zip",
    )


def tokens(request: HttpRequest) -> HttpResponse:
    if not selectors.is_data_manager(request.user):
        raise PermissionDenied("Only a data manager can manage API tokens.")
    form = TokenIssueForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            token, key = services.token_issue(ctx=AuditContext.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            issued = {"token": token, "key": key}
            form = TokenIssueForm()
    return render(
        request,
        "exports/tokens.html",
        {
            "form": form,
            "issued": issued,
            "tokens": selectors.tokens_for(request.user).order_by("-id"),
            "revoke_form": RevokeForm(),
            "now": timezone.now(),
        },
        status=400 if form.errors else 200,
    )


@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    if has_only_read_roles(request.user):
        raise PermissionDenied("Your role is read-only.")
    token = get_object_or_404(selectors.tokens_for(request.user), pk=token_id)
    if not selectors.is_data_manager(request.user):
        raise PermissionDenied("Only a data manager can revoke API tokens.")
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A reason is required to revoke a token.")
        return redirect("exports_tokens")
    try:
        services.token_revoke(
            ctx=AuditContext.from_request(request), token=token, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"Token {token.prefix}… of {token.user} revoked.")
    return redirect("exports_tokens")
