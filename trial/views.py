"""Thin page views for sites, participants, schedule and dosing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import lockout, otp
from trial import access, audit_events, selectors, services
from trial.audit import AuditContext, history_for
from trial.client_ip import client_ip
from trial.forms import (
    AntiPD1DoseForm,
    EnrolmentForm,
    StatusChangeForm,
    TracerDoseForm,
    VisitRecordForm,
    VoidForm,
)
from trial.idempotency import submit_once
from trial.models import AntiPD1Drug, ParticipantStatus, Visit
from trial.next_url import next_or
from trial.pagination import paginate
from trial.query_guard import refuse_bad_choices
from trial.site_time import site_today
from trial.web import add_validation_errors, finish_form, form_page, form_status, without_version


def health(request: HttpRequest) -> JsonResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class LockoutLoginView(auth_views.LoginView):
    """Login that locks an account for a while after repeated failures."""

    template_name = "registration/login.html"

    def post(self, request, *args, **kwargs):
        # Counted per account, whatever spelling reached it (NFKC look-alikes, spaces), one attempt at a
        # time per account so parallel guesses cannot slip past the count: accounts.lockout.
        with lockout.serialised(request.POST.get("username", "")):
            until = lockout.locked_until(request.POST.get("username", ""))
            if until is not None:
                form = self.get_form()
                form.add_error(None, lockout.lock_message(until))
                audit_events.login_refused(request, request.POST.get("username", ""), "account locked")
                # A refused attempt on a locked account is not counted again: the lock ends on time.
                return super().form_invalid(form)
            return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        """A wrong user name or password counts towards the lockout."""
        lockout.record_failure(self.request.POST.get("username", ""), client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form):
        # Failures count from the last login on (accounts.lockout), so a success needs no clean-up here.
        user = form.get_user()
        if otp.has_confirmed_device(user):  # the password is right; the login waits for the code
            otp.begin_verification(self.request, user, self.get_redirect_url())
            return redirect("otp_verify")
        return super().form_valid(form)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    panels = []
    for provider in DASHBOARD_PANELS:
        panels.extend(provider(request))
    return render(
        request,
        "trial/dashboard.html",
        {
            "rows": selectors.dashboard_summary(user=request.user),
            "panels": panels,
        },
    )


# Other apps add callables request -> list[{"title", "template", "context"}] shown on the dashboard.
DASHBOARD_PANELS: list = []


@require_GET
def participant_list(request: HttpRequest) -> HttpResponse:
    if bad := refuse_bad_choices(request, status=ParticipantStatus.values, drug=AntiPD1Drug.values):
        return bad
    filters = {k: request.GET.get(k, "") for k in ("site", "status", "drug", "tumour_type", "q")}
    pager = paginate(
        request, selectors.participant_list(user=request.user, filters=filters), noun="participants"
    )
    return render(
        request,
        "trial/participant_list.html",
        {
            "participants": pager.items,
            "pager": pager,
            "filters": filters,
            "sites": access.sites_visible_to(request.user),
            "statuses": ParticipantStatus.choices,
            "can_enrol": access.sites_where(request.user, "enrolment").exists(),
        },
    )


def participant_enrol(request: HttpRequest) -> HttpResponse:
    sites = access.sites_where(request.user, "enrolment")
    if not sites.exists():
        raise PermissionDenied("Only site coordinators and investigators enrol participants.")
    criteria = services.current_protocol().criteria.all()
    form = EnrolmentForm(request.POST or None, sites=sites, criteria=criteria)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = submit_once(
                request,
                lambda: _enrol(request, form),
                lambda p: reverse("participant_detail", kwargs={"participant_pk": p.pk}),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return finish_form(
                request, outcome, lambda p: f"Enrolled {p.study_id}; {p.visits.count()} visits planned."
            )
    return render(request, "trial/participant_enrol.html", {"form": form}, status=400 if form.errors else 200)


def _enrol(request: HttpRequest, form: EnrolmentForm) -> Any:
    data = form.cleaned_data
    return services.participant_enrol(
        ctx=AuditContext.from_request(request),
        site=data["site"],
        year_of_birth=data["year_of_birth"],
        sex=data["sex"],
        height_cm=data["height_cm"],
        weight_kg=data["weight_kg"],
        tumour_type=data["tumour_type"],
        planned_anti_pd1=data["planned_anti_pd1"],
        answers=form.answers(),
        consent_date=data["consent_date"],
        consent_version=data["consent_version"],
        enrolment_date=data["enrolment_date"],
        treatment_start_date=data["treatment_start_date"],
    )


@require_GET
def participant_detail(request: HttpRequest, participant_pk: int) -> HttpResponse:
    # The page and the sections of other apps ask many permission questions: memberships are read once.
    with access.memberships_read_once():
        participant = selectors.participant_get(user=request.user, pk=participant_pk)
        window = selectors.reporting_window(participant)
        sections = []
        for provider in PARTICIPANT_SECTIONS:
            sections.extend(provider(request, participant))
        return render(
            request,
            "trial/participant_detail.html",
            {
                "participant": participant,
                "timeline": selectors.participant_timeline(participant),
                "history": selectors.participant_history(participant)[:300],
                "status_history": participant.status_history.select_related("changed_by"),
                "eligibility": participant.eligibility_answers.select_related("criterion"),
                "consents": participant.consents.all(),
                "reporting_window": window,
                "can_edit": access.can(request.user, "schedule", participant.site_id),
                "sections": sections,
                "today": site_today(participant.site),
            },
        )


# Other apps add callables (request, participant) -> list[{"title", "template", "context"}].
PARTICIPANT_SECTIONS: list = []


def participant_form_page(
    request: HttpRequest,
    participant: Any,
    form: forms.Form,
    save: Callable[..., Any],
    *,
    title: str,
    success: str,
    one_time: bool = False,
) -> HttpResponse:
    """A form whose service takes (ctx, participant, **cleaned_data) and returns to the participant page.

    `one_time` (create forms): a replayed POST of the same form token saves nothing (trial.idempotency).
    """
    return form_page(
        request,
        form,
        lambda data: _save_versioned(
            save, ctx=AuditContext.from_request(request), participant=participant, data=data
        ),
        title=title,
        success=lambda _result: success,
        next_url=lambda _result: reverse("participant_detail", kwargs={"participant_pk": participant.pk}),
        participant=participant,
        one_time=one_time,
    )


def _save_versioned(save: Callable[..., Any], *, data: dict[str, Any], **kwargs: Any) -> Any:
    """Call the service with the form's data; a versioned form's version goes as `expected_version`."""
    data, version = without_version(data)
    return save(**kwargs, **data, **version)


def participant_status(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = selectors.participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, "enrolment", participant.site_id)
    form = StatusChangeForm(request.POST or None, initial={"date": timezone.localdate()}, record=participant)
    return participant_form_page(
        request,
        participant,
        form,
        services.participant_change_status,
        title=f"Change status of {participant.study_id}",
        success="Status changed.",
    )


def visit_record(request: HttpRequest, participant_pk: int, visit_pk: int) -> HttpResponse:
    participant = selectors.participant_get(user=request.user, pk=participant_pk)
    visit = selectors.scoped_get(Visit, user=request.user, pk=visit_pk, participant=participant)
    access.require(request.user, "schedule", participant.site_id)
    initial = {
        "status": visit.status,
        "actual_date": visit.actual_date or visit.planned_date,
        "out_of_window_reason": visit.out_of_window_reason,
    }
    form = VisitRecordForm(request.POST or None, initial=initial, record=visit)
    if request.method == "POST" and form.is_valid():
        data, version = without_version(form.cleaned_data)
        try:
            services.visit_record(ctx=AuditContext.from_request(request), visit=visit, **data, **version)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{visit.name} saved.")
            return redirect("participant_detail", participant_pk=participant.pk)
    return render(
        request,
        "trial/visit_form.html",
        {
            "form": form,
            "participant": participant,
            "visit": visit,
            "history": history_for(visit),
        },
        status=form_status(form),
    )


def tracer_dose_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = selectors.participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, "dosing", participant.site_id)
    return participant_form_page(
        request,
        participant,
        TracerDoseForm(request.POST or None, participant=participant),
        services.tracer_dose_record,
        title=f"89Zr-Df-crefmirlimab administration — {participant.study_id} "
        f"(times in {participant.site.time_zone})",
        success="Tracer administration recorded.",
        one_time=True,
    )


def anti_pd1_dose_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = selectors.participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, "dosing", participant.site_id)
    return participant_form_page(
        request,
        participant,
        AntiPD1DoseForm(request.POST or None, participant=participant),
        services.anti_pd1_dose_record,
        title=f"Anti-PD-1 administration — {participant.study_id} (times in {participant.site.time_zone})",
        success="Anti-PD-1 administration recorded.",
        one_time=True,
    )


def _voidable(request: HttpRequest, app_label: str, model_name: str, object_pk: int):
    if f"{app_label}.{model_name}" not in VOIDABLE_MODELS:
        raise Http404
    model = apps.get_model(app_label, model_name)
    site_field = "site" if model_name == "participant" else "participant__site"
    return selectors.scoped_get(model, user=request.user, pk=object_pk, site_field=site_field)


# "app_label.model_name" of records that may be voided and restored from the generic page.
VOIDABLE_MODELS: set[str] = {
    "trial.participant",
    "trial.tracerdose",
    "trial.antipd1dose",
    "trial.visit",
    "trial.consent",
}


def record_void(request: HttpRequest, app_label: str, model_name: str, object_pk: int) -> HttpResponse:
    instance = _voidable(request, app_label, model_name, object_pk)
    participant = instance if model_name == "participant" else instance.participant
    access.require(request.user, access.void_capability(app_label), participant.site_id)
    restoring = instance.voided
    back = next_or(request, reverse("participant_detail", kwargs={"participant_pk": participant.pk}))
    form = VoidForm(request.POST or None, record=instance)
    if request.method == "POST" and form.is_valid():
        action = services.record_restore if restoring else services.record_void
        try:
            action(
                ctx=AuditContext.from_request(request),
                instance=instance,
                reason=form.cleaned_data["reason"],
                expected_version=form.expected_version(),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"{instance} {'restored' if restoring else 'voided'}.")
            return redirect(back)
    return render(
        request,
        "trial/void.html",
        {
            "form": form,
            "participant": participant,
            "record": instance,
            "restoring": restoring,
            "back_url": back,
            "history": None,
        },
        status=form_status(form),
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import logout

    logout(request)
    return redirect(reverse("login"))
