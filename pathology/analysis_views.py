"""Analysis pages: every plot as a PNG with a CSV of exactly the data behind it, filtered by site, tumour type
and anti-PD-1 drug (and participant)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from pathology import analysis_data, linked, selectors
from pathology.plots import PLOTS, PlotSpec, csv_rows
from pathology.stats import METHOD_TEXT
from trial import access, csv_safety, plot_cache
from trial.models import AntiPD1Drug, Participant
from trial.query_guard import refuse_bad_choices

FILTERS = ("site", "tumour_type", "drug", "participant")
SOURCES = {
    "biopsy": analysis_data.biopsy_rows,
    "response": analysis_data.response_rows,
    "swimmer": analysis_data.swimmer_rows,
    "organ": analysis_data.organ_rows,
}


def _filters(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET.get(k, "").strip() for k in FILTERS}


def _spec(request: HttpRequest) -> PlotSpec:
    spec = PLOTS.get(request.GET.get("plot", ""))
    if spec is None:
        raise Http404("Unknown plot.")
    return spec


def data_version() -> str:
    """Changes with every committed audited write (the audit chain head) and every recomputed VOI result."""
    from trial.models import AuditEntry

    head = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", flat=True).first()
    voi_result = linked.model("imaging.VoiResult")
    results = plot_cache.data_version(voi_result.objects.all(), stamp="computed_at") if voi_result else ""
    return f"audit:{head or 0}|{results}"


def rows_for(spec: PlotSpec, user: Any, filters: dict[str, str], cache: dict | None = None) -> list[dict]:
    """The rows behind a plot, cached (Redis) by the user's sites, the filters and the data version."""
    cache = {} if cache is None else cache
    if "version" not in cache:
        cache["version"] = data_version()
    if spec.source not in cache:
        params = [spec.source, access.visible_site_ids(user), sorted(filters.items())]
        cache[spec.source] = plot_cache.cached_value(
            "analysis-rows", params, cache["version"], lambda: SOURCES[spec.source](user, filters)
        )
    return cache[spec.source]


@require_safe
def analyses(request: HttpRequest) -> HttpResponse:
    if bad := refuse_bad_choices(request, drug=AntiPD1Drug.values):
        return bad
    filters = _filters(request)
    query = urlencode({k: v for k, v in filters.items() if v})
    cache: dict = {}
    sections = [
        {
            "spec": spec,
            "stats": spec.stats(rows_for(spec, request.user, filters, cache)),
            "rows": len(rows_for(spec, request.user, filters, cache)),
        }
        for spec in PLOTS.values()
    ]
    visible = access.scope_to_user(Participant.objects.filter(voided=False), request.user, site_field="site")
    return render(
        request,
        "pathology/analyses.html",
        {
            "sections": sections,
            "agreement": selectors.agreement_rows(user=request.user),
            "filters": filters,
            "query": query,
            "method": METHOD_TEXT,
            "rule": linked.describe(),
            "sites": access.sites_visible_to(request.user),
            "tumour_types": sorted(set(visible.values_list("tumour_type", flat=True))),
            "drugs": AntiPD1Drug.choices,
            "participants": visible.order_by("study_id").values_list("study_id", flat=True),
        },
    )


@require_safe
def plot_png(request: HttpRequest) -> HttpResponse:
    spec = _spec(request)
    filters, cache = _filters(request), {}
    rows = rows_for(spec, request.user, filters, cache)
    params = [spec.name, access.visible_site_ids(request.user), sorted(filters.items())]
    png = plot_cache.cached_bytes("analysis-png", params, cache["version"], lambda: spec.render(rows))
    response = HttpResponse(png, content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{spec.name}.png"'
    return response


@require_safe
def plot_csv(request: HttpRequest) -> HttpResponse:
    spec = _spec(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{spec.name}.csv"'
    writer = csv_safety.safe_writer(response)
    for row in csv_rows(spec, rows_for(spec, request.user, _filters(request))):
        writer.writerow(row)
    return response
