"""Thin pages: AE lists, capture form with term search, sign-off, safety tables and plot."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from safety import presentation, selectors, services
from safety.forms import AdverseEventForm, SignatureForm
from safety.models import AdverseEvent, CtcaeTerm, SaeNotification
from trial import access
from trial.audit import AuditContext, history_for
from trial.idempotency import submit_once
from trial.models import AntiPD1Drug
from trial.pagination import paginate
from trial.query_guard import refuse_bad_choices
from trial.selectors import participant_get, reporting_window, scoped_get
from trial.web import add_validation_errors, finish_form, form_status


def _status(form: Any) -> int:
    return form_status(form)


@require_GET
def ae_list(request: HttpRequest) -> HttpResponse:
    flags = {k: ("1", "on") for k in ("serious", "immune_related", "include_voided")}
    if bad := refuse_bad_choices(request, drug=AntiPD1Drug.values, **flags):
        return bad
    filters = {
        k: request.GET.get(k, "")
        for k in ("site", "drug", "serious", "immune_related", "q", "include_voided")
    }
    pager = paginate(request, selectors.ae_list(user=request.user, filters=filters), noun="adverse events")
    return render(
        request,
        "safety/ae_list.html",
        {
            "aes": pager.items,
            "pager": pager,
            "filters": filters,
            "sites": access.sites_visible_to(request.user),
            "drugs": AntiPD1Drug.choices,
        },
    )


@require_GET
def participant_aes(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    return render(
        request, "safety/participant_aes.html", presentation.participant_context(request, participant)
    )


def _render_form(
    request: HttpRequest, form: AdverseEventForm, participant: Any, title: str, **extra: Any
) -> HttpResponse:
    return render(
        request,
        "safety/ae_form.html",
        {
            "form": form,
            "participant": participant,
            "title": title,
            "term": form.chosen_term,
            "grade": form.chosen_grade,
            "window": reporting_window(participant),
            **extra,
        },
        status=_status(form),
    )


def ae_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, "adverse_events", participant.site_id)
    form = AdverseEventForm(request.POST or None, participant=participant)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = submit_once(
                request,
                lambda: services.ae_create(
                    ctx=AuditContext.from_request(request),
                    participant=participant,
                    values=form.values(),
                    confirm_duplicate_reason=form.duplicate_reason(),
                ),
                lambda _ae: reverse("safety:participant_aes", kwargs={"participant_pk": participant.pk}),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return finish_form(request, outcome, _recorded_message)
    return _render_form(request, form, participant, f"New adverse event — {participant.study_id}")


def _recorded_message(ae: AdverseEvent) -> str:
    return (
        f"Recorded {ae.display_term} grade {ae.grade}{' (SAE: notification queued)' if ae.serious else ''}."
    )


def _ae_for_write(request: HttpRequest, ae_pk: int) -> AdverseEvent:
    ae = scoped_get(AdverseEvent, user=request.user, pk=ae_pk)
    access.require(request.user, "adverse_events", ae.participant.site_id)
    return ae


def ae_edit(request: HttpRequest, ae_pk: int) -> HttpResponse:
    ae = _ae_for_write(request, ae_pk)
    form = AdverseEventForm(
        request.POST or None,
        participant=ae.participant,
        editing=True,
        initial=services.current_values(ae),
        record=ae,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.ae_update(
                ctx=AuditContext.from_request(request),
                ae=ae,
                values=form.values(),
                reason=form.cleaned_data["reason"],
                expected_version=form.expected_version(),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{ae.display_term} updated.")
            return redirect("safety:participant_aes", participant_pk=ae.participant_id)
    return _render_form(
        request,
        form,
        ae.participant,
        f"Edit AE {ae.pk} — {ae.participant.study_id}",
        ae=ae,
        lock_term=True,
        lock_grade=True,
    )


def ae_change_grade(request: HttpRequest, ae_pk: int) -> HttpResponse:
    ae = _ae_for_write(request, ae_pk)
    initial = {
        **services.current_values(ae),
        "onset_date": "",
        "end_date": "",
        "ongoing": True,
        "grade": None,
    }
    form = AdverseEventForm(
        request.POST or None, participant=ae.participant, grade_change=True, initial=initial, record=ae
    )
    if request.method == "POST" and form.is_valid():
        try:
            new = services.ae_change_grade(
                ctx=AuditContext.from_request(request),
                ae=ae,
                values=form.values(),
                reason=form.cleaned_data["reason"],
                expected_version=form.expected_version(),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request, f"{new.display_term}: grade {ae.grade} → {new.grade} recorded as AE {new.pk}."
            )
            return redirect("safety:participant_aes", participant_pk=ae.participant_id)
    return _render_form(
        request,
        form,
        ae.participant,
        f"Change grade of AE {ae.pk} (now grade {ae.grade}) — {ae.participant.study_id}",
        ae=ae,
        lock_term=True,
    )


@require_GET
def ae_detail(request: HttpRequest, ae_pk: int) -> HttpResponse:
    ae = scoped_get(AdverseEvent, user=request.user, pk=ae_pk)
    return render(
        request,
        "safety/ae_detail.html",
        {
            "ae": ae,
            "participant": ae.participant,
            "course": services.ae_course(ae),
            "history": history_for(ae),
            "notifications": ae.notifications.all(),
            "signature": presentation.signature_status(ae.participant),
            "can_edit": access.can(request.user, "adverse_events", ae.participant.site_id),
            "can_void": access.can(request.user, "void", ae.participant.site_id),
        },
    )


def ae_sign(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, "sign_adverse_events", participant.site_id)
    form = SignatureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.aes_sign(
                ctx=AuditContext.from_request(request), participant=participant, **form.cleaned_data
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"AEs of {participant.study_id} signed.")
            return redirect("safety:participant_aes", participant_pk=participant.pk)
    context = presentation.participant_context(request, participant)
    live = [ae for ae in context["aes"] if not ae.voided]  # exactly what the signature covers
    return render(request, "safety/sign.html", {**context, "aes": live, "form": form}, status=_status(form))


def notification_resend(request: HttpRequest, notification_pk: int) -> HttpResponse:
    note = scoped_get(
        SaeNotification, user=request.user, pk=notification_pk, site_field="adverse_event__participant__site"
    )
    if request.method != "POST":  # scoped first: another site sees 404, not 405
        return HttpResponseNotAllowed(["POST"])
    try:
        services.notification_requeue(ctx=AuditContext.from_request(request), notification=note)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "SAE notification queued again.")
    return redirect("safety:ae_detail", ae_pk=note.adverse_event_id)


@require_GET
def term_search(request: HttpRequest) -> HttpResponse:
    offset = request.GET.get("offset", "0")
    page = selectors.term_search_page(request.GET.get("q", ""), offset=int(offset) if offset.isdigit() else 0)
    return render(
        request,
        "safety/_term_results.html",
        {"terms": page.terms, "page": page, "q": request.GET.get("q", "")},
    )


@require_GET
def term_choose(request: HttpRequest) -> HttpResponse:
    term_id = request.GET.get("term", "")
    term = get_object_or_404(CtcaeTerm, pk=int(term_id) if term_id.isdigit() else 0)
    return render(request, "safety/_term_choose.html", {"term": term, "grade": None, "lock_term": False})


def _table_filters(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET.get(k, "") for k in ("site", "drug")}


@require_GET
def tables(request: HttpRequest) -> HttpResponse:
    if bad := refuse_bad_choices(request, drug=AntiPD1Drug.values):
        return bad
    filters = _table_filters(request)
    context = presentation.tables_context(user=request.user, filters=filters)
    # The listings' counts come with the cached table figures (no COUNT over every AE per view).
    sae_pager = paginate(
        request, context.pop("saes"), param="sae_page", noun="SAEs", count=context.pop("n_saes")
    )
    irae_pager = paginate(
        request, context.pop("iraes"), param="irae_page", noun="irAEs", count=context.pop("n_iraes")
    )
    return render(
        request,
        "safety/tables.html",
        {
            **context,
            "saes": sae_pager.items,
            "sae_pager": sae_pager,
            "iraes": irae_pager.items,
            "irae_pager": irae_pager,
            "filters": filters,
            "sites": access.sites_visible_to(request.user),
            "drugs": AntiPD1Drug.choices,
            "query": request.GET.urlencode(),
        },
    )


@require_GET
def tables_csv(request: HttpRequest) -> HttpResponse:
    if bad := refuse_bad_choices(request, drug=AntiPD1Drug.values):
        return bad
    filters = _table_filters(request)
    table = request.GET.get("table", "incidence")
    if table not in presentation.CSV_TABLES:
        raise Http404(f"No safety table named {table!r}.")
    text = presentation.table_csv(user=request.user, filters=filters, table=table)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="safety_{table}.csv"'
    return response


@require_GET
def tables_plot(request: HttpRequest) -> HttpResponse:
    png = presentation.max_grade_plot_png(user=request.user, filters=_table_filters(request))
    return HttpResponse(png, content_type="image/png")
