"""Reads of the lesion registry (always scoped to the user's sites) and the live response preview."""

from __future__ import annotations

import io
from typing import Any

from django.db.models import QuerySet, prefetch_related_objects

from lesions import engine
from lesions.models import (
    PARAMETER_FIELDS,
    PARAMETER_LABELS,
    Assessment,
    DerivedImage,
    Lesion,
    MaskAnalysis,
    Measurement,
    MriParameterSet,
    ParticipantResponse,
)
from lesions.services import assessment_rows, lesion_rows, measurement_row
from trial import plot_cache
from trial.access import scope_to_user
from trial.models import Participant
from trial.selectors import participant_list as trial_participant_list


def lesion_list(*, user: Any) -> QuerySet[Lesion]:
    return scope_to_user(Lesion.objects.select_related("participant"), user).order_by("participant", "label")


def assessment_list(*, user: Any) -> QuerySet[Assessment]:
    return scope_to_user(Assessment.objects.select_related("participant"), user).order_by(
        "participant", "date"
    )


def measurement_list(*, user: Any) -> QuerySet[Measurement]:
    qs = Measurement.objects.select_related("participant", "assessment", "lesion")
    return scope_to_user(qs, user).order_by("participant", "assessment__date", "lesion__label")


def parameter_set_list(*, user: Any) -> QuerySet[MriParameterSet]:
    qs = MriParameterSet.objects.select_related("participant", "roi", "roi__lesion")
    return scope_to_user(qs, user).order_by("participant", "roi__acquired_on", "id")


def mask_analysis_list(*, user: Any) -> QuerySet[MaskAnalysis]:
    qs = MaskAnalysis.objects.select_related("participant", "lesion")
    return scope_to_user(qs, user).order_by("participant", "acquired_on", "id")


def derived_image_list(*, user: Any) -> QuerySet[DerivedImage]:
    return scope_to_user(DerivedImage.objects.select_related("parameter_set__roi__lesion"), user)


def response_overview(*, user: Any, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Participants with lesion counts, last assessment and stored responses."""
    return response_rows(list(trial_participant_list(user=user, filters=filters or {})))


def response_rows(participants: list[Participant]) -> list[dict[str, Any]]:
    """The overview rows of these participants (one page of them): four queries whatever their number."""
    rows = []
    prefetch_related_objects(participants, "lesions")
    best = {r.participant_id: r for r in ParticipantResponse.objects.filter(participant__in=participants)}
    last: dict[int, Assessment] = {}
    for a in Assessment.objects.filter(participant__in=participants, voided=False).order_by("date"):
        last[a.participant_id] = a
    for p in participants:
        lesions = [les for les in p.lesions.all() if not les.voided]
        rows.append(
            {
                "participant": p,
                "n_lesions": len(lesions),
                "n_targets": sum(1 for les in lesions if les.role == "target"),
                "last": last.get(p.pk),
                "best": best.get(p.pk),
            }
        )
    return rows


def registry(participant: Participant) -> dict[str, Any]:
    """Lesions x assessments matrix with stored responses for one participant page."""
    lesions = list(participant.lesions.filter(voided=False))
    assessments = list(participant.assessments.filter(voided=False).select_related("visit"))
    cells = {
        (m.lesion_id, m.assessment_id): m
        for m in Measurement.objects.filter(participant=participant, voided=False).select_related("lesion")
    }
    matrix = [{"lesion": les, "cells": [cells.get((les.pk, a.pk)) for a in assessments]} for les in lesions]
    baseline = assessments[0] if assessments else None
    issues = []
    if baseline is not None:
        base = {
            m.lesion.label: engine.effective_mm(measurement_row(m))
            for (lid, aid), m in cells.items()
            if aid == baseline.pk
        }
        issues = [i.message for i in engine.selection_issues(lesion_rows(participant), base, complete=True)]
    return {
        "lesions": lesions,
        "assessments": assessments,
        "matrix": matrix,
        "baseline": baseline,
        "best": ParticipantResponse.objects.filter(participant=participant).first(),
        "selection_issues": issues,
        "voided_lesions": participant.lesions.filter(voided=True),
    }


def preview(assessment: Assessment, entries: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Responses the engine would store if `entries` ({lesion_pk: entry}) replaced this assessment's values."""
    participant = assessment.participant
    labels = dict(participant.lesions.filter(voided=False).values_list("pk", "label"))
    rows = assessment_rows(participant)
    row = next((r for r in rows if r.key == assessment.pk), None)
    if row is None:
        return {"error": "this assessment is voided", "result": engine.blank_result()}
    for pk, e in entries.items():
        if pk not in labels:
            continue
        value = e.get("value_mm")
        try:
            value = float(value) if value not in (None, "") else None
        except ValueError:
            value = None
        row.measurements[labels[pk]] = engine.MeasurementRow(
            labels[pk], e.get("state") or "measured", value, e.get("non_target_state") or ""
        )
    computed = engine.compute(lesion_rows(participant), rows)
    return {
        "error": computed.error,
        "result": computed.per_assessment.get(assessment.pk, engine.blank_result()),
    }


def lesion_timeline(lesion: Lesion) -> dict[str, Any]:
    """Every number about a lesion over time: diameters, PET VOIs, MRI parameters, volumes, biopsies."""
    measurements = (
        lesion.measurements.filter(voided=False).select_related("assessment").order_by("assessment__date")
    )
    params = MriParameterSet.objects.filter(roi__lesion=lesion, voided=False).select_related("roi")
    masks = lesion.mask_analyses.filter(voided=False).order_by("acquired_on")
    baseline_vol = next((m for m in masks if m.voxel_volume_mm3), None)
    volumes = []
    for m in masks:
        change = None
        if baseline_vol and m.voxel_volume_mm3 is not None and baseline_vol.voxel_volume_mm3:
            change = {
                "voxel": 100.0
                * (m.voxel_volume_mm3 - baseline_vol.voxel_volume_mm3)
                / baseline_vol.voxel_volume_mm3,
                "mesh": 100.0
                * (m.mesh_volume_mm3 - baseline_vol.mesh_volume_mm3)
                / baseline_vol.mesh_volume_mm3
                if baseline_vol.mesh_volume_mm3
                else None,
            }
        volumes.append({"analysis": m, "change": change})
    return {
        "measurements": measurements,
        "parameter_sets": params,
        "parameter_columns": _present_columns(params),
        "volumes": volumes,
        "pet_vois": _related_rows(lesion, ("vois", "voi_set", "pet_vois")),
        "biopsies": _related_rows(lesion, ("biopsies", "biopsy_set", "samples")),
    }


def _related_rows(lesion: Lesion, names: tuple[str, ...]) -> list[Any]:
    """Rows of another app linked to this lesion, read defensively (the link may not exist yet)."""
    for name in names:
        manager = getattr(lesion, name, None)
        if manager is not None and hasattr(manager, "all"):
            qs = manager.all()
            if hasattr(qs.model, "voided"):
                qs = qs.filter(voided=False)
            return list(qs[:200])
    return []


def _present_columns(params: Any) -> list[tuple[str, str]]:
    return [
        (f, PARAMETER_LABELS[f]) for f in PARAMETER_FIELDS if any(getattr(p, f) is not None for p in params)
    ]


def baseline_vs_latest(params: list[MriParameterSet]) -> list[dict[str, Any]]:
    """Per lesion and parameter: first (baseline) and latest value, with % change."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for p in sorted(params, key=lambda p: (p.roi.acquired_on, p.pk)):
        if p.status != "done":
            continue
        for field, value in p.values().items():
            key = (p.roi.lesion.label, field)
            row = rows.setdefault(
                key,
                {
                    "lesion": p.roi.lesion,
                    "label": PARAMETER_LABELS[field],
                    "baseline": (p.roi.acquired_on, value),
                },
            )
            row["latest"] = (p.roi.acquired_on, value)
    out = []
    for row in rows.values():
        (d0, v0), (d1, v1) = row["baseline"], row["latest"]
        row["change_pct"] = 100.0 * (v1 - v0) / v0 if d1 != d0 and v0 else None
        out.append(row)
    return sorted(out, key=lambda r: (r["lesion"].label, r["label"]))


def participant_parameters(participant: Participant) -> dict[str, Any]:
    params = list(
        MriParameterSet.objects.filter(participant=participant, voided=False).select_related(
            "roi", "roi__lesion", "roi__visit"
        )
    )
    masks = list(participant.mask_analyses.filter(voided=False).select_related("lesion"))
    return {
        "parameter_sets": params,
        "parameter_columns": _present_columns(params),
        "masks": masks,
        "comparison": baseline_vs_latest(params),
    }


def parameter_series(participant: Participant, field: str) -> dict[str, list[tuple[Any, float]]]:
    """{lesion label: [(date, value), ...]} of one parameter (done sets only)."""
    series: dict[str, list[tuple[Any, float]]] = {}
    qs = (
        MriParameterSet.objects.filter(participant=participant, voided=False, status="done")
        .select_related("roi__lesion")
        .order_by("roi__acquired_on")
    )
    for p in qs:
        value = getattr(p, field)
        if value is not None:
            series.setdefault(p.roi.lesion.label, []).append((p.roi.acquired_on, value))
    return series


def parameter_plot_png(participant: Participant, field: str) -> bytes:
    """The plot below, cached until the participant's data changes (trial.plot_cache)."""
    version = plot_cache.participant_version(participant.pk)
    return plot_cache.cached_bytes(
        "lesion-parameter", [participant.pk, field], version, lambda: _parameter_plot_png(participant, field)
    )


def _parameter_plot_png(participant: Participant, field: str) -> bytes:
    """Parameter vs time per lesion (baseline vs on-treatment) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = parameter_series(participant, field)
    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=100)
    for label, points in sorted(series.items()):
        ax.plot([d for d, _ in points], [v for _, v in points], marker="o", label=label)
    if not series:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel(PARAMETER_LABELS.get(field, field))
    ax.set_title(f"{participant.study_id}: {PARAMETER_LABELS.get(field, field)}", fontsize=10)
    if series:
        ax.legend(fontsize=8)
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def sum_plot_png(participant: Participant) -> bytes:
    """The plot below, cached until the participant's data changes (trial.plot_cache)."""
    version = plot_cache.participant_version(participant.pk)
    return plot_cache.cached_bytes(
        "lesion-sum", [participant.pk], version, lambda: _sum_plot_png(participant)
    )


def _sum_plot_png(participant: Participant) -> bytes:
    """Sum of target diameters over time with the stored responses annotated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [a for a in participant.assessments.filter(voided=False).order_by("date") if a.sum_mm is not None]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    ax.plot([a.date for a in rows], [a.sum_mm for a in rows], marker="o", color="#0b5fa5")
    for a in rows:
        tag = "/".join(x for x in (a.recist_response, a.irecist_response) if x) or "baseline"
        ax.annotate(
            tag, (a.date, a.sum_mm), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7
        )
    ax.set_ylabel("Sum of diameters (mm)")
    ax.set_title(f"{participant.study_id}: target sum", fontsize=10)
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
