"""Analysis pages: every plot as a PNG with a CSV of exactly the data behind it, filtered by site, tumour type
and anti-PD-1 drug (and participant)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from pathology import analysis_data, linked
from pathology.plots import PLOTS, PlotSpec, csv_rows
from pathology.stats import METHOD_TEXT
from trial import access, csv_safety
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


def rows_for(spec: PlotSpec, user: Any, filters: dict[str, str], cache: dict | None = None) -> list[dict]:
    cache = {} if cache is None else cache
    if spec.source not in cache:
        cache[spec.source] = SOURCES[spec.source](user, filters)
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
    png = spec.render(rows_for(spec, request.user, _filters(request)))
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
