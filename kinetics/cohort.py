"""Cohort uptake at baseline vs on-treatment: the rows the cohort plot shows and their paired comparison."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from kinetics.selectors import PK_ORGANS, Point
from quant.pk.errors import PkInputError
from quant.pk.fit import analyse
from quant.pk.stats import PairedComparison, paired_comparison

ORGAN_LABELS = {
    "blood_pool": "Blood pool",
    "liver": "Liver",
    "spleen": "Spleen",
    "kidney": "Kidney",
    "bone_marrow": "Bone marrow",
    "lung": "Lung",
    "muscle": "Muscle",
    "tumour": "Tumour (mean of lesions)",
}
CSV_COLUMNS = ["study_id", "group", "phase", "tracer_visit", "visit", "nominal_hours", "hours", "suv_mean"]


def cohort_rows(points_by_participant: dict[str, list[Point]]) -> list[dict[str, Any]]:
    """SUVmean (decay-corrected) per participant, organ or tumour, phase and scan; lesions averaged per scan."""
    rows: list[dict[str, Any]] = []
    for study_id, points in sorted(points_by_participant.items()):
        lesions: dict[str, list[Point]] = {}
        for p in points:
            if p.kind == "organ" and p.organ in PK_ORGANS:
                rows.append(_row(study_id, p.organ, p, p.suv_mean))
            elif p.kind == "lesion":
                lesions.setdefault(p.visit_code, []).append(p)
        for scan_points in lesions.values():
            first = scan_points[0]
            rows.append(_row(study_id, "tumour", first, statistics.fmean(p.suv_mean for p in scan_points)))
    return rows


def _row(study_id: str, group: str, p: Point, value: float) -> dict[str, Any]:
    return {
        "study_id": study_id,
        "group": group,
        "phase": p.phase,
        "tracer_visit": p.tracer_visit_code,
        "visit": p.visit_code,
        "nominal_hours": p.nominal_hours if p.nominal_hours is not None else round(p.hours),
        "hours": p.hours,
        "value": value,
    }


def csv_row(row: dict[str, Any]) -> list[Any]:
    return [
        row["study_id"],
        row["group"],
        row["phase"],
        row["tracer_visit"],
        row["visit"],
        f"{row['nominal_hours']:g}",
        f"{row['hours']:.3f}",
        f"{row['value']:.6g}",
    ]


def groups_present(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    present = {r["group"] for r in rows}
    return [(g, label) for g, label in ORGAN_LABELS.items() if g in present]


@dataclass
class ComparisonRow:
    label: str
    quantity: str
    comparison: PairedComparison


def comparisons(rows: list[dict[str, Any]]) -> list[ComparisonRow]:
    """Per organ/tumour and planned time point: on-treatment minus baseline SUVmean, paired by participant;
    then the blood-pool biological half-life (mono fit of the decay-corrected SUVmean, >= 3 scans)."""
    out = []
    cells: dict[tuple[str, float], dict[str, dict[str, float]]] = {}
    for r in rows:
        cell = cells.setdefault((r["group"], r["nominal_hours"]), {"baseline": {}, "on_treatment": {}})
        cell[r["phase"]][r["study_id"]] = r["value"]
    order = list(ORGAN_LABELS)
    for (group, nominal), cell in sorted(cells.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        both = sorted(set(cell["baseline"]) & set(cell["on_treatment"]))
        if not both:
            continue
        out.append(
            ComparisonRow(
                ORGAN_LABELS[group],
                f"SUVmean at {nominal:g} h",
                paired_comparison(
                    [cell["baseline"][s] for s in both], [cell["on_treatment"][s] for s in both]
                ),
            )
        )
    half_lives = _blood_half_lives(rows)
    both = sorted(set(half_lives["baseline"]) & set(half_lives["on_treatment"]))
    if both:
        out.append(
            ComparisonRow(
                ORGAN_LABELS["blood_pool"],
                "biological half-life (h), mono fit",
                paired_comparison(
                    [half_lives["baseline"][s] for s in both], [half_lives["on_treatment"][s] for s in both]
                ),
            )
        )
    return out


def _blood_half_lives(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    curves: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in rows:
        if r["group"] == "blood_pool":
            curves.setdefault((r["phase"], r["study_id"]), []).append((r["hours"], r["value"]))
    out: dict[str, dict[str, float]] = {"baseline": {}, "on_treatment": {}}
    for (phase, study_id), pts in curves.items():
        if len(pts) < 3:
            continue
        try:
            result = analyse([p[0] for p in pts], [p[1] for p in pts], model="mono", decay_corrected=True)
        except PkInputError:
            continue
        if result.biological_half_life_h is not None:
            out[phase][study_id] = result.biological_half_life_h
    return out
