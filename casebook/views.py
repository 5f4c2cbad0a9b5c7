"""Thin pages of the casebook: a list and a form per record kind, void/restore, the screening log and flow."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from casebook import presentation, selectors, services
from casebook.forms import ScreenFailureForm, form_class, lab_help
from casebook.models import LabResult, ScreeningLogEntry
from casebook.registry import KINDS, Kind
from trial import access
from trial import selectors as trial_selectors
from trial.audit import AuditContext, history_for
from trial.forms import VoidForm
from trial.idempotency import FormOutcome, submit_once
from trial.next_url import next_or
from trial.web import add_validation_errors, finish_form, form_status


def _kind(slug: str) -> Kind:
    if slug not in KINDS:
        raise Http404
    return KINDS[slug]


def _list_url(participant_pk: int, kind: Kind) -> str:
    return reverse("casebook:record_list", args=[participant_pk, kind.slug])


@require_safe
def record_list(request: HttpRequest, participant_pk: int, slug: str) -> HttpResponse:
    kind = _kind(slug)
    participant = trial_selectors.participant_get(user=request.user, pk=participant_pk)
    records = list(selectors.scoped_records(kind.model, user=request.user, participant=participant))
    flagged = set()
    if kind.model is LabResult:
        flagged = {lab.pk for lab in selectors.labs_grade2_without_ae(participant, user=request.user)}
    return render(
        request,
        "casebook/record_list.html",
        {
            "participant": participant,
            "kind": kind,
            "headers": presentation.headers(kind),
            "rows": presentation.rows(kind, records, participant, flagged),
            "can_add": access.can(request.user, services.CAPABILITY, participant.site_id),
            "can_void": access.can(request.user, "void", participant.site_id),
            "kinds": KINDS.values(),
        },
    )


def _form_page(
    request: HttpRequest, participant, kind: Kind, form, title: str, status_ok: int = 200, record=None
) -> HttpResponse:
    return render(
        request,
        "casebook/record_form.html",
        {
            "form": form,
            "participant": participant,
            "kind": kind,
            "title": title,
            "back_url": _list_url(participant.pk, kind),
            "lab_units": lab_help() if kind.model is LabResult else "",
            "record": record,
            "can_void": access.can(request.user, "void", participant.site_id),
        },
        status=form_status(form) if form.is_bound else status_ok,
    )


def record_new(request: HttpRequest, participant_pk: int, slug: str) -> HttpResponse:
    kind = _kind(slug)
    participant = trial_selectors.participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, services.CAPABILITY, participant.site_id)
    form = form_class(kind.model, list(kind.fields))(request.POST or None, participant=participant)
    if request.method == "POST" and form.is_valid():
        data, _reason, _version = form.service_data()
        ctx = AuditContext.from_request(request)
        try:
            outcome = submit_once(
                request,
                lambda: services.record_create(ctx=ctx, model=kind.model, participant=participant, data=data),
                lambda _r: _list_url(participant.pk, kind),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return finish_form(request, outcome, lambda r: f"Saved: {r}.")
    return _form_page(request, participant, kind, form, f"{kind.add_label} — {participant.study_id}")


def record_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    kind = _kind(slug)
    record = selectors.record_get(kind.model, user=request.user, pk=pk)
    participant = record.participant
    access.require(request.user, services.CAPABILITY, participant.site_id)
    form = form_class(kind.model, list(kind.fields))(
        request.POST or None, participant=participant, record=record
    )
    if request.method == "POST" and form.is_valid():
        data, reason, version = form.service_data()
        try:
            services.record_update(
                ctx=AuditContext.from_request(request),
                instance=record,
                data=data,
                reason=reason,
                expected_version=version,
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return finish_form(
                request, FormOutcome(record, _list_url(participant.pk, kind)), lambda r: f"Saved: {r}."
            )
    return _form_page(
        request, participant, kind, form, f"Edit {record} — {participant.study_id}", record=record
    )


def record_void(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Void (or restore) with a reason, on its own page, then back to the list the user came from."""
    kind = _kind(slug)
    record = selectors.record_get(kind.model, user=request.user, pk=pk)
    participant = record.participant
    access.require(request.user, "void", participant.site_id)
    restoring = record.voided
    back = next_or(request, _list_url(participant.pk, kind))
    form = VoidForm(request.POST or None, record=record)
    if request.method == "POST" and form.is_valid():
        action = services.record_restore if restoring else services.record_void
        try:
            action(
                ctx=AuditContext.from_request(request),
                instance=record,
                reason=form.cleaned_data["reason"],
                expected_version=form.expected_version(),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{record} {'restored' if restoring else 'voided'}.")
            return redirect(back)
    return render(
        request,
        "casebook/void.html",
        {
            "form": form,
            "participant": participant,
            "record": record,
            "restoring": restoring,
            "back_url": back,
            "history": history_for(record),
        },
        status=form_status(form),
    )


def screening_log(request: HttpRequest) -> HttpResponse:
    entries = selectors.scoped_records(ScreeningLogEntry, user=request.user).select_related("site")
    sites = access.sites_where(request.user, services.CAPABILITY)
    form = ScreenFailureForm(request.POST or None, sites=sites)
    if request.method == "POST":
        if not sites.exists():
            raise PermissionDenied("Your role does not allow recording screen failures.")
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            try:
                services.screen_failure_record(ctx=AuditContext.from_request(request), **data)
            except ValidationError as exc:
                add_validation_errors(form, exc)
            else:
                messages.success(request, "Screen failure recorded (no direct identifiers kept).")
                return redirect("casebook:screening_log")
    return render(
        request,
        "casebook/screening_log.html",
        {
            "entries": entries[:200],
            "total": entries.count(),
            "form": form if sites.exists() else None,
            "flow": selectors.screening_flow(user=request.user),
        },
        status=form_status(form) if request.method == "POST" else 200,
    )
