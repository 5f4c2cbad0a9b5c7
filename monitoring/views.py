"""Thin pages: locks, SDV (participant page and worklist), casebook sign-off, work queue, overview."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from monitoring import expected_forms, overview, selectors, services
from monitoring.forms import CasebookSignForm, LockForm, ReleaseForm
from monitoring.services.common import has_role_at, is_data_manager, record_for
from monitoring.services.signoff import active_signature, casebook_records
from trial import access
from trial.audit import AuditContext
from trial.models import Role
from trial.pagination import paginate
from trial.selectors import participant_get
from trial.web import add_validation_errors, form_status


def locks(request: HttpRequest) -> HttpResponse:
    if not (is_data_manager(request.user) or Role.MONITOR in access.all_roles(request.user)):
        raise PermissionDenied("Freezing and locking are for data managers and monitors.")
    form = LockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lock = services.lock_apply(ctx=AuditContext.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{lock.get_kind_display()}: {lock.target_label}.")
            return redirect("monitoring:locks")
    return render(
        request,
        "monitoring/locks.html",
        {
            "form": form,
            "locks": selectors.lock_list(user=request.user)[:200],
            "is_dm": is_data_manager(request.user),
            "study_locked": services.study_locked(),
            "release_form": ReleaseForm(),
        },
        status=form_status(form),
    )


@require_POST
def lock_release(request: HttpRequest, lock_pk: int) -> HttpResponse:
    lock = get_object_or_404(selectors.lock_list(user=request.user), pk=lock_pk)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A reason is required to release a lock.")
        return redirect("monitoring:locks")
    try:
        services.lock_release(ctx=AuditContext.from_request(request), lock=lock, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Released: {lock.target_label}.")
    return redirect(request.POST.get("next") or "monitoring:locks")


@require_POST
def participant_lock(request: HttpRequest, participant_pk: int) -> HttpResponse:
    """Freeze or lock a casebook from the participant page."""
    participant = participant_get(user=request.user, pk=participant_pk)
    try:
        services.lock_apply(
            ctx=AuditContext.from_request(request),
            scope="participant",
            kind=request.POST.get("kind", "lock"),
            object_id=participant.pk,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Casebook {participant.study_id}: {request.POST.get('kind', 'lock')} applied."
        )
    return redirect("participant_detail", participant.pk)


@require_POST
def final_export(request: HttpRequest) -> HttpResponse:
    try:
        job = services.final_export_start(ctx=AuditContext.from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("monitoring:locks")
    messages.success(request, f"Final export {job.pk} started on the locked database.")
    return redirect("exports_index")


@require_safe
def sdv_participant(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    rows = selectors.record_statuses(selectors.visible_participants(request.user).filter(pk=participant.pk))
    visits = {v.pk: v for v in participant.visits.filter(voided=False)}
    return render(
        request,
        "monitoring/sdv_participant.html",
        {
            "participant": participant,
            "rows": rows,
            "by_visit": selectors.progress_by(
                rows, lambda r: r.visit_id, {k: f"{v.code} · {v.name}" for k, v in visits.items()}
            ),
            "by_form": selectors.progress_by(
                rows, lambda r: r.resource, {r.resource: selectors.form_label(r.resource) for r in rows}
            ),
            "total": selectors.progress_by(rows, lambda r: "all", {"all": participant.study_id}),
            "visits": visits,
            "can_verify": has_role_at(request.user, Role.MONITOR, participant.site_id),
        },
    )


@require_POST
def sdv_verify(request: HttpRequest, participant_pk: int) -> HttpResponse:
    """Verify one record, every record of a form, or every record of a visit (plan resources)."""
    participant = participant_get(user=request.user, pk=participant_pk)
    if not has_role_at(request.user, Role.MONITOR, participant.site_id):
        raise PermissionDenied("Only a monitor of this site may mark source data verified.")
    ctx = AuditContext.from_request(request)
    try:
        if request.POST.get("resource") and request.POST.get("object_id"):
            fields = [f for f in request.POST.getlist("fields") if f]
            services.sdv_mark(
                ctx=ctx, resource=request.POST["resource"], object_id=request.POST["object_id"], fields=fields
            )
            done = 1
        else:
            rows = selectors.record_statuses(
                selectors.visible_participants(request.user).filter(pk=participant.pk)
            )
            form, visit = request.POST.get("form", ""), request.POST.get("visit", "")
            chosen = [
                r
                for r in rows
                if not r.verified and ((form and r.resource == form) or (visit and str(r.visit_id) == visit))
            ]
            items = [record_for(request.user, r.resource, r.id) for r in chosen]
            done = services.sdv_mark_many(ctx=ctx, items=[(res.name, rec) for res, rec in items])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{done} record(s) marked verified.")
    return redirect("monitoring:sdv_participant", participant.pk)


def sdv_worklist(request: HttpRequest) -> HttpResponse:
    todo = selectors.worklist(request.user)
    page = Paginator(todo, 50).get_page(request.GET.get("page"))
    studies = dict(selectors.visible_participants(request.user).values_list("pk", "study_id"))
    for row in page:
        row.study_id = studies.get(row.participant_id, "")
    return render(
        request,
        "monitoring/sdv_worklist.html",
        {
            "page": page,
            "total": len(todo),
            "sites": selectors.site_progress(request.user),
        },
    )


def casebook_sign(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, "sign_adverse_events", participant.site_id)
    form = CasebookSignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.casebook_sign(
                ctx=AuditContext.from_request(request), participant=participant, **form.cleaned_data
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Casebook of {participant.study_id} signed.")
            return redirect("participant_detail", participant.pk)
    return render(
        request,
        "monitoring/casebook_sign.html",
        {
            "participant": participant,
            "form": form,
            "records": casebook_records(participant, with_labels=True),
            "signature": active_signature(participant),
            "lock": selectors.casebook_lock(participant),
        },
        status=form_status(form),
    )


def investigator_queue(request: HttpRequest) -> HttpResponse:
    if not selectors.is_investigator(request.user):
        raise PermissionDenied("The signature work queue is for investigators.")
    return render(request, "monitoring/investigator_queue.html", selectors.investigator_queue(request.user))


def data_manager_overview(request: HttpRequest) -> HttpResponse:
    if not (is_data_manager(request.user) or Role.MONITOR in access.all_roles(request.user)):
        raise PermissionDenied("The data management overview is for data managers and monitors.")
    return render(request, "monitoring/overview.html", overview.overview(request.user))


@require_safe
def missing_forms(request: HttpRequest) -> HttpResponse:
    """Forms the protocol calendar expects and nobody recorded, for visits whose window opened (user's sites)."""
    sites = list(access.sites_visible_to(request.user).order_by("code").values_list("code", flat=True))
    choices = expected_forms.form_choices()
    site = request.GET.get("site", "")
    form = request.GET.get("form", "")
    site = site if site in sites else ""
    form = form if form in dict(choices) else ""
    rows = expected_forms.missing_forms(request.user, site_code=site, form=form)
    return render(
        request,
        "monitoring/missing_forms.html",
        {
            "pager": paginate(request, rows, count=len(rows), noun="missing forms"),
            "by_site": expected_forms.counts_by_site(rows),
            "sites": sites,
            "forms": choices,
            "site": site,
            "form": form,
            "overdue_total": sum(r.overdue for r in rows),
        },
    )
