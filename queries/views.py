"""Query pages: the list (per participant, per site, filtered), raising a query, the thread with its forms."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from queries import selectors, services, targets
from queries.forms import AnswerForm, CloseForm, RaiseForm, ReopenForm
from queries.models import QueryOrigin, QueryStatus
from queries.rules import RULES
from trial import access
from trial.audit import AuditContext
from trial.idempotency import submit_once
from trial.selectors import participant_get
from trial.web import add_validation_errors, finish_form

PAGE_SIZE = 25


@require_http_methods(["GET"])
def query_list(request: HttpRequest, participant_pk: int | None = None, site_code: str = "") -> HttpResponse:
    params = request.GET.copy()
    participant = None
    if participant_pk is not None:
        participant = participant_get(user=request.user, pk=participant_pk)
        params["participant"] = participant.study_id
    if site_code:
        if not access.sites_visible_to(request.user).filter(code=site_code).exists():
            raise Http404("No such site.")
        params["site"] = site_code
    try:
        filters = selectors.clean_filters(params)
    except ValidationError as exc:
        return render(request, "queries/query_list.html", {"errors": exc.messages, "filters": {}}, status=400)
    qs = selectors.query_list(user=request.user, filters=filters).order_by("-raised_at", "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "queries/query_list.html",
        {
            "page": page,
            "filters": filters,
            "participant": participant,
            "site_code": site_code,
            "keep": keep.urlencode(),
            "statuses": [("live", "Open or answered"), *QueryStatus.choices],
            "origins": QueryOrigin.choices,
            "ages": [(k, v[0]) for k, v in selectors.AGE_BUCKETS.items()],
            "resources": list(targets.queryable_resources()),
            "raisers": selectors.raisers(user=request.user),
            "rules": [(r.code, r.label) for r in RULES],
            "sites": access.sites_visible_to(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def query_new(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    resource, object_id, field = (source.get(k, "") for k in ("resource", "object_id", "field"))
    try:
        target = targets.resolve(resource, object_id, field)
    except ValidationError as exc:
        raise Http404(" ".join(exc.messages)) from exc
    participant = participant_get(user=request.user, pk=target.participant.pk)
    if not services.may_raise(request.user, participant.site_id):
        raise PermissionDenied("Only a monitor or data manager of this site raises queries.")
    form = RaiseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = submit_once(
                request,
                lambda: services.query_raise(
                    ctx=AuditContext.from_request(request),
                    resource=resource,
                    object_id=object_id,
                    field=field,
                    text=form.cleaned_data["text"],
                ),
                lambda q: reverse("queries:query_detail", kwargs={"query_pk": q.pk}),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return finish_form(request, outcome, lambda q: f"Query {q.pk} raised.")
    return render(
        request,
        "queries/query_new.html",
        {
            "form": form,
            "target": target,
            "participant": participant,
            "field_label": targets.field_label(target.resource.name, field),
            "value": target.value(),
            "record_url": record_url(target.resource.name, target.record.pk, participant.pk),
        },
        status=400 if form.errors else 200,
    )


def record_url(resource: str, object_id: int, participant_pk: int) -> str:
    """Where the queried record is shown (its own page where there is one, else the participant page)."""
    pages = {
        "adverse-events": ("safety:ae_detail", {"ae_pk": object_id}),
        "scans": ("imaging:scan_detail", {"scan_pk": object_id}),
    }
    if resource in pages:
        name, kwargs = pages[resource]
        try:
            return reverse(name, kwargs=kwargs)
        except Exception:  # noqa: BLE001 - a page renamed by its app: fall back to the participant
            pass
    return reverse("participant_detail", kwargs={"participant_pk": participant_pk})


def _correction(request: HttpRequest, query: Any) -> tuple[Any, Any]:
    """(the field the user may correct in an answer, or None; the field's current value)."""
    try:
        target = targets.resolve(query.resource, query.object_id, query.field)
    except ValidationError:
        return None, None
    field = target.correctable_field()
    capability = targets.capability_for(target)
    allowed = field is not None and capability and access.can(request.user, capability, query.site_id)
    return (field if allowed else None), target.value()


def _thread_context(request: HttpRequest, query: Any, **forms: Any) -> dict[str, Any]:
    field, current = _correction(request, query)
    can_manage = services.may_raise(request.user, query.site_id)
    return {
        "query": query,
        "thread": list(query.messages.all()),
        "current": current,
        "field_label": targets.field_label(query.resource, query.field),
        "record_url": record_url(query.resource, query.object_id, query.participant_id),
        "can_answer": query.status == QueryStatus.OPEN and services.may_answer(request.user, query.site_id),
        "can_close": can_manage and query.status != QueryStatus.CLOSED,
        "can_reopen": can_manage and query.status != QueryStatus.OPEN,
        "answer_form": forms.get("answer") or AnswerForm(field=field, current=current, auto_id="answer-%s"),
        "close_form": forms.get("close") or CloseForm(auto_id="close-%s"),
        "reopen_form": forms.get("reopen") or ReopenForm(auto_id="reopen-%s"),
    }


@require_http_methods(["GET"])
def query_detail(request: HttpRequest, query_pk: int) -> HttpResponse:
    query = selectors.query_get(user=request.user, pk=query_pk)
    return render(request, "queries/query_detail.html", _thread_context(request, query))


def _step(request: HttpRequest, query_pk: int, kind: str) -> HttpResponse:
    query = selectors.query_get(user=request.user, pk=query_pk)
    if kind == "answer" and not services.may_answer(request.user, query.site_id):
        raise PermissionDenied("Only the site's staff answer queries.")
    if kind != "answer" and not services.may_raise(request.user, query.site_id):
        raise PermissionDenied("Only a monitor or data manager of this site closes or reopens queries.")
    ctx = AuditContext.from_request(request)
    url = reverse("queries:query_detail", kwargs={"query_pk": query.pk})
    if kind == "answer":
        field, current = _correction(request, query)
        form = AnswerForm(request.POST, field=field, current=current, auto_id="answer-%s")
        valid = form.is_valid()

        def save() -> Any:
            kwargs: dict[str, Any] = {"query": query, "text": form.cleaned_data["text"]}
            if "new_value" in form.cleaned_data:
                kwargs["new_value"] = form.cleaned_data["new_value"]
            return services.query_answer(ctx=ctx, **kwargs)

        done = "Answer recorded."
    elif kind == "close":
        form = CloseForm(request.POST, auto_id="close-%s")
        valid = form.is_valid()

        def save() -> Any:
            return services.query_close(ctx=ctx, query=query, text=form.cleaned_data["text"])

        done = "Query closed."
    else:
        form = ReopenForm(request.POST, auto_id="reopen-%s")
        valid = form.is_valid()

        def save() -> Any:
            return services.query_reopen(ctx=ctx, query=query, text=form.cleaned_data["text"])

        done = "Query reopened."
    if valid:
        try:
            outcome = submit_once(request, save, lambda _q: url)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return finish_form(request, outcome, lambda _q: done)
    messages.error(request, "Nothing was saved: see the form.")
    context = _thread_context(request, query, **{kind: form})
    return render(request, "queries/query_detail.html", context, status=400)


@require_http_methods(["POST"])
def query_answer(request: HttpRequest, query_pk: int) -> HttpResponse:
    return _step(request, query_pk, "answer")


@require_http_methods(["POST"])
def query_close(request: HttpRequest, query_pk: int) -> HttpResponse:
    return _step(request, query_pk, "close")


@require_http_methods(["POST"])
def query_reopen(request: HttpRequest, query_pk: int) -> HttpResponse:
    return _step(request, query_pk, "reopen")


def participant_queries(request: HttpRequest, participant_pk: int) -> HttpResponse:
    return query_list(request, participant_pk=participant_pk)


def site_queries(request: HttpRequest, site_code: str) -> HttpResponse:
    return query_list(request, site_code=site_code)
