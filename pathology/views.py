"""Thin pages: biopsy list, biopsy page (lesion, matched PET VOIs, MRI), biopsy and IHC score entry."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from lesions.models import Lesion
from pathology import linked, selectors, services
from pathology.forms import BiopsyEditForm, BiopsyForm, IhcScoreEditForm, IhcScoreForm
from pathology.models import Biopsy, BiopsyPeriod, IhcScore, MarkerDefinition
from pathology.validation import FIELD_LABELS
from trial import access
from trial.audit import AuditContext, history_for
from trial.idempotency import submit_once
from trial.query_guard import refuse_bad_choices
from trial.selectors import participant_get, participant_list, scoped_get
from trial.versioning import VersionConflict
from trial.web import add_validation_errors, finish_form, form_page, form_status, without_version


@require_safe
def biopsy_list(request: HttpRequest) -> HttpResponse:
    if bad := refuse_bad_choices(request, period=BiopsyPeriod.values):
        return bad
    filters = {k: request.GET.get(k, "") for k in ("site", "period", "q")}
    pathology_sites = access.sites_where(request.user, "pathology")
    return render(
        request,
        "pathology/biopsy_list.html",
        {
            "biopsies": selectors.biopsy_list(user=request.user, filters=filters).prefetch_related(
                "ihc_scores__marker"
            ),
            "filters": filters,
            "sites": access.sites_visible_to(request.user),
            "periods": BiopsyPeriod.choices,
            "entry_participants": participant_list(user=request.user).filter(site__in=pathology_sites),
        },
    )


def _lesions(participant) -> object:
    return Lesion.objects.filter(participant=participant, voided=False).order_by("label")


def biopsy_new(request: HttpRequest, participant_pk: int) -> HttpResponse:
    participant = participant_get(user=request.user, pk=participant_pk)
    access.require(request.user, "pathology", participant.site_id)
    return form_page(
        request,
        BiopsyForm(request.POST or None, lesions=_lesions(participant)),
        lambda data: services.biopsy_record(
            ctx=AuditContext.from_request(request), participant=participant, **data
        ),
        title=f"New biopsy — {participant.study_id}",
        success=lambda biopsy: f"Biopsy {biopsy.sample_id} recorded.",
        next_url=lambda biopsy: reverse("pathology:biopsy_detail", kwargs={"biopsy_pk": biopsy.pk}),
        participant=participant,
        one_time=True,
    )


def biopsy_edit(request: HttpRequest, biopsy_pk: int) -> HttpResponse:
    biopsy = scoped_get(Biopsy, user=request.user, pk=biopsy_pk)
    access.require(request.user, "pathology", biopsy.participant.site_id)
    initial = {f: getattr(biopsy, f) for f in services.BIOPSY_FIELDS}
    initial["tumour_cells_present"] = "yes" if biopsy.tumour_cells_present else "no"

    def save(data: dict) -> Biopsy:
        data, version = without_version(data)
        reason = data.pop("reason")
        services.biopsy_update(
            ctx=AuditContext.from_request(request), biopsy=biopsy, data=data, reason=reason, **version
        )
        return biopsy

    return form_page(
        request,
        BiopsyEditForm(
            request.POST or None, initial=initial, lesions=_lesions(biopsy.participant), record=biopsy
        ),
        save,
        title=f"Correct biopsy {biopsy.sample_id}",
        success=lambda b: f"Biopsy {b.sample_id} corrected.",
        next_url=lambda b: reverse("pathology:biopsy_detail", kwargs={"biopsy_pk": b.pk}),
        participant=biopsy.participant,
    )


@require_safe
def biopsy_detail(request: HttpRequest, biopsy_pk: int) -> HttpResponse:
    biopsy = scoped_get(Biopsy, user=request.user, pk=biopsy_pk)
    can_score = access.can(request.user, "pathology", biopsy.participant.site_id)
    return render(
        request,
        "pathology/biopsy_detail.html",
        {
            "biopsy": biopsy,
            "participant": biopsy.participant,
            "marker_rows": selectors.scores_for_biopsy(biopsy),
            "markers": selectors.active_markers(),
            "links": linked.biopsy_links(biopsy),
            "can_score": can_score and not biopsy.voided,
            "can_void": access.can(request.user, "void_pathology", biopsy.participant.site_id),
            "history": history_for(biopsy),
        },
    )


def _marker_from(request: HttpRequest) -> MarkerDefinition | None:
    code = request.POST.get("marker") or request.GET.get("marker")
    if not code:
        return None
    marker = selectors.active_markers().filter(code=code).first()
    if marker is None:
        raise Http404("Unknown marker.")
    return marker


def _add_errors(form, exc: ValidationError) -> None:
    """Service errors on the form; an error of a field the form does not show is worded with its label."""
    hidden = hasattr(exc, "error_dict") and any(
        f not in form.fields and f != NON_FIELD_ERRORS for f in exc.error_dict
    )
    if hidden and not isinstance(exc, VersionConflict):
        named = {}
        for field, messages_ in exc.message_dict.items():
            if field in form.fields or field == NON_FIELD_ERRORS:
                named[field] = messages_
            else:
                label = FIELD_LABELS.get(field) or field.replace("pdl1_pos_", "PD-L1 positive ").replace(
                    "_", " "
                )
                named.setdefault(NON_FIELD_ERRORS, []).extend(
                    f"{label[:1].upper()}{label[1:]}: {m}" for m in messages_
                )
        exc = ValidationError(named)
    add_validation_errors(form, exc)


def ihc_score_new(request: HttpRequest, biopsy_pk: int) -> HttpResponse:
    biopsy = scoped_get(Biopsy, user=request.user, pk=biopsy_pk)
    access.require(request.user, "pathology", biopsy.participant.site_id)
    marker = _marker_from(request)
    if marker is None:
        return render(
            request,
            "pathology/marker_choice.html",
            {
                "biopsy": biopsy,
                "participant": biopsy.participant,
                "markers": selectors.active_markers(),
            },
        )
    initial = {"score_date": timezone.localdate(), "antibody_clone": marker.default_clone}
    form = IhcScoreForm(request.POST or None, initial=initial, marker=marker)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = submit_once(
                request,
                lambda: services.ihc_score_record(
                    ctx=AuditContext.from_request(request),
                    biopsy=biopsy,
                    marker=marker,
                    values=form.values(),
                    **form.meta(),
                ),
                lambda _score: reverse("pathology:biopsy_detail", kwargs={"biopsy_pk": biopsy.pk}),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return finish_form(
                request,
                outcome,
                lambda score: (
                    f"{marker.code} score saved for {biopsy.sample_id} "
                    f"({score.get_scorer_number_display().lower()})."
                ),
            )
    return render(
        request,
        "pathology/ihc_form.html",
        {
            "form": form,
            "biopsy": biopsy,
            "participant": biopsy.participant,
            "marker": marker,
            "title": f"{marker.code} score — {biopsy.sample_id}",
        },
        status=400 if form.errors else 200,
    )


def ihc_score_edit(request: HttpRequest, score_pk: int) -> HttpResponse:
    score = scoped_get(IhcScore, user=request.user, pk=score_pk)
    access.require(request.user, "pathology", score.participant.site_id)
    marker = score.marker
    initial = {name: getattr(score, name) for name in IhcScoreForm.VALUE_NAMES}
    initial.update(
        {k: getattr(score, k) for k in ("score_date", "antibody_clone", "scoring_method", "comment")}
    )
    form = IhcScoreEditForm(request.POST or None, initial=initial, marker=marker, edit=True, record=score)
    if request.method == "POST" and form.is_valid():
        try:
            services.ihc_score_update(
                ctx=AuditContext.from_request(request),
                score=score,
                values=form.values(),
                reason=form.cleaned_data["reason"],
                expected_version=form.expected_version(),
                **form.meta(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{marker.code} score corrected.")
            return redirect("pathology:biopsy_detail", biopsy_pk=score.biopsy_id)
    return render(
        request,
        "pathology/ihc_form.html",
        {
            "form": form,
            "biopsy": score.biopsy,
            "participant": score.participant,
            "marker": marker,
            "score": score,
            "title": f"Correct {marker.code} score ({score.get_scorer_number_display().lower()}) — "
            f"{score.biopsy.sample_id}",
            "history": history_for(score),
        },
        status=form_status(form),
    )
