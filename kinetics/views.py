"""Thin PK pages: a participant's curves, fits and TIACs; the cohort comparison; their PNGs and CSVs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse

from kinetics import analysis, cohort, parameters, plots, selectors, services
from kinetics.models import TiacMethod
from quant.pk.constants import ZR89_HALF_LIFE_H
from quant.pk.fit import MODELS
from quant.pk.tiac import METHODS
from trial import access, csv_safety
from trial.audit import AuditContext
from trial.selectors import participant_get, participant_list

PNG_CACHE_SECONDS = 24 * 3600
PLOT_VERSION = "pk-plot-4"  # bump when a figure's drawing changes


def _read_only(request: HttpRequest) -> HttpResponse | None:
    return None if request.method in ("GET", "HEAD") else HttpResponseNotAllowed(["GET", "HEAD"])


def _options(request: HttpRequest) -> dict[str, Any]:
    """Chosen metric, view, model and TIAC method; anything unknown falls back to the default."""
    get = request.GET
    metric = get.get("metric", "suv_mean")
    return {
        "metric": metric if metric in selectors.METRICS else "suv_mean",
        "corrected": get.get("view", "corrected") != "uncorrected",
        "model": get.get("model") if get.get("model") in MODELS else "auto",
        "method": get.get("method") if get.get("method") in METHODS else "trapezoid",
    }


def _cached_png(key: str, draw: Any) -> HttpResponse:
    png = cache.get(key)
    if png is None:
        png = draw()
        cache.set(key, png, PNG_CACHE_SECONDS)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=0"
    return response


def participant(request: HttpRequest, participant_pk: int) -> HttpResponse:
    person = participant_get(user=request.user, pk=participant_pk)
    if (refused := _read_only(request)) is not None:
        return refused
    opts = _options(request)
    points = selectors.participant_points(person)
    fits = analysis.fit_series(points, opts["metric"], opts["corrected"], opts["model"])
    return render(
        request,
        "kinetics/participant.html",
        {
            "participant": person,
            "opts": opts,
            "query": request.GET.urlencode(),
            "metrics": selectors.METRICS,
            "metric_label": "{} ({})".format(*selectors.METRICS[opts["metric"]]),
            "view_text": plots.view_text(opts["corrected"]),
            "half_life": ZR89_HALF_LIFE_H,
            "points": points,
            "fits": fits,
            "tiacs": analysis.tiac_tables(points, person.sex, opts["method"]),
            "method_labels": TiacMethod.choices,
            "exports": selectors.dosimetry_exports(person),
            "can_export": access.can(request.user, "imaging", person.site_id),
            **_stored(person, points),
        },
    )


def _stored(person, points) -> dict[str, Any]:
    stored = selectors.stored_parameters(person)
    current = parameters.digests(points, person.sex)
    up_to_date = all(current.get((r.tracer_visit_code, r.series_key)) == r.inputs_sha256 for r in stored)
    return {"stored": stored, "stored_current": bool(stored) and up_to_date}


def parameters_store(request: HttpRequest, participant_pk: int) -> HttpResponse:
    """POST: recompute the participant's PK parameters and store what changed (audited)."""
    person = participant_get(user=request.user, pk=participant_pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        counts = services.pk_parameters_refresh(ctx=AuditContext.from_request(request), participant=person)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "PK parameters stored: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return redirect(
        reverse("kinetics:participant", kwargs={"participant_pk": person.pk}) + "#stored-parameters"
    )


def participant_plot(request: HttpRequest, participant_pk: int) -> HttpResponse:
    person = participant_get(user=request.user, pk=participant_pk)
    if (refused := _read_only(request)) is not None:
        return refused
    opts = _options(request)
    points = selectors.participant_points(person)
    key = "kinetics:participant:" + selectors.data_version(PLOT_VERSION, person.study_id, opts, points)
    label = "{} ({})".format(*selectors.METRICS[opts["metric"]])

    def draw() -> bytes:
        fits = analysis.fit_series(points, opts["metric"], opts["corrected"], opts["model"])
        return plots.participant_png(fits, person.study_id, label, opts["corrected"])

    return _cached_png(key, draw)


def series_csv(request: HttpRequest, participant_pk: int) -> HttpResponse:
    """One curve as `t_h,value` (the pk_fit input): ?tracer=&key=&metric=&view=."""
    person = participant_get(user=request.user, pk=participant_pk)
    if (refused := _read_only(request)) is not None:
        return refused
    opts = _options(request)
    tracer, key = request.GET.get("tracer", ""), request.GET.get("key", "")
    pts = selectors.series(selectors.participant_points(person)).get(tracer, {}).get(key, [])
    response = HttpResponse(content_type="text/csv")
    name = f"{person.study_id}-{tracer}-{key.replace(':', '-')}-{opts['metric']}"
    name += "-decay-corrected" if opts["corrected"] else "-uncorrected"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv_safety.safe_writer(response)
    writer.writerow(["t_h", "value"])
    for p in pts:
        value = p.value(opts["metric"], opts["corrected"])
        if value is not None:
            writer.writerow([f"{p.hours:.4f}", f"{value:.6g}"])
    return response


def tiac_export(request: HttpRequest, participant_pk: int) -> HttpResponse:
    person = participant_get(user=request.user, pk=participant_pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    access.require(request.user, "imaging", person.site_id)
    method = request.POST.get("method", "")
    tracer = request.POST.get("tracer", "")
    if method not in METHODS:
        messages.error(request, "Choose a TIAC method.")
        return redirect("kinetics:participant", participant_pk=person.pk)
    tables = [
        t
        for t in analysis.tiac_tables(selectors.participant_points(person), person.sex, method)
        if t.tracer_visit_code == tracer
    ]
    try:
        if not tables:
            raise ValidationError({"tracer": "No curves for this injection."})
        export, data = services.dosimetry_export_record(
            ctx=AuditContext.from_request(request), participant=person, table=tables[0]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("kinetics:participant", participant_pk=person.pk)
    response = HttpResponse(data, content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="{person.study_id}-{tracer}-tiac-{method}-{export.pk}.csv"'
    )
    return response


def _cohort_rows(request: HttpRequest) -> list[dict[str, Any]]:
    people = list(participant_list(user=request.user).filter(voided=False))
    by_pk = selectors.points_for([p.pk for p in people])
    return cohort.cohort_rows({p.study_id: by_pk[p.pk] for p in people if by_pk[p.pk]})


def cohort_page(request: HttpRequest) -> HttpResponse:
    if (refused := _read_only(request)) is not None:
        return refused
    rows = _cohort_rows(request)
    return render(
        request,
        "kinetics/cohort.html",
        {
            "rows": rows,
            "comparisons": cohort.comparisons(rows),
            "n_participants": len({r["study_id"] for r in rows}),
            "half_life": ZR89_HALF_LIFE_H,
        },
    )


def cohort_plot(request: HttpRequest) -> HttpResponse:
    if (refused := _read_only(request)) is not None:
        return refused
    rows = _cohort_rows(request)
    key = "kinetics:cohort:" + selectors.data_version(PLOT_VERSION, rows)
    return _cached_png(key, lambda: plots.cohort_png(rows, cohort.groups_present(rows), "SUVmean (g/mL)"))


def cohort_csv(request: HttpRequest) -> HttpResponse:
    if (refused := _read_only(request)) is not None:
        return refused
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="cohort-pk-uptake.csv"'
    writer = csv_safety.safe_writer(response)
    writer.writerow(cohort.CSV_COLUMNS)
    for row in _cohort_rows(request):
        writer.writerow(cohort.csv_row(row))
    return response
