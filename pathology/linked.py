"""Reads of other apps' tables that a biopsy links to: the lesion's PET VOIs/SUVs and MRI parameters.

Read defensively: an app whose model or table is not there yet yields nothing rather than an error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError

from pathology.matching import DEFAULT_WINDOW_DAYS, ScanRef, match_scan

BASELINE, ON_TREATMENT = "baseline", "on_treatment"
MRI_PARAMETERS = {  # label -> MriParameterSet field
    "Ktrans": "ktrans_per_min",
    "ve": "ve",
    "vp": "vp",
    "f": "ivim_f",
    "D": "ivim_d_mm2_s",
    "D*": "ivim_dstar_mm2_s",
    "K": "dki_k",
}


def window_days() -> int:
    return int(getattr(settings, "PATHOLOGY_SCAN_MATCH_WINDOW_DAYS", DEFAULT_WINDOW_DAYS))


def model(label: str) -> Any | None:
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def treatment_start(participant: Any) -> dt.date | None:
    v = participant.visits.filter(code="C1D1", voided=False).first()
    return (v.actual_date or v.planned_date) if v else None


def period_of(participant: Any, date: dt.date, visit_code: str = "", start: dt.date | None = None) -> str:
    """Baseline or on-treatment: from the visit code where known, else before/after anti-PD-1 day 1."""
    if visit_code.startswith("OT_"):
        return ON_TREATMENT
    if visit_code.startswith("BL_"):
        return BASELINE
    start = start or treatment_start(participant)
    return ON_TREATMENT if start and date >= start else BASELINE


def scan_date(scan: Any) -> dt.date | None:
    if scan.acquired_at:
        return scan.acquired_at.date()
    return scan.visit.actual_date


def pet_scans(participant_ids: list[int] | None = None) -> dict[int, list[tuple[ScanRef, Any]]]:
    """Acquired PET scans per participant as (ScanRef, scan)."""
    scan_model = model("imaging.Scan")
    out: dict[int, list[tuple[ScanRef, Any]]] = {}
    if scan_model is None:
        return out
    qs = scan_model.objects.filter(voided=False, modality="PT").select_related("visit")
    if participant_ids is not None:
        qs = qs.filter(participant_id__in=participant_ids)
    try:
        for scan in qs:
            date = scan_date(scan)
            if date is None:
                continue
            ref = ScanRef(id=scan.pk, period=scan.phase, date=date)
            out.setdefault(scan.participant_id, []).append((ref, scan))
    except DatabaseError:
        return {}
    return out


def matched_scan(biopsy: Any, scans: list[tuple[ScanRef, Any]]) -> tuple[Any, int] | None:
    """(scan, days from biopsy to scan) by the matching rule, or None."""
    ref = match_scan(biopsy.period, biopsy.biopsy_date, [r for r, _ in scans], window_days())
    if ref is None:
        return None
    scan = next(s for r, s in scans if r.id == ref.id)
    return scan, (ref.date - biopsy.biopsy_date).days


def lesion_vois(lesion_ids: list[int], scan_ids: list[int] | None = None) -> list[Any]:
    """Non-voided PET VOIs of these lesions with their results (select_related result)."""
    voi_model = model("imaging.Voi")
    if voi_model is None or not lesion_ids:
        return []
    qs = voi_model.objects.filter(voided=False, lesion_id__in=lesion_ids).select_related(
        "scan", "scan__visit"
    )
    if scan_ids is not None:
        qs = qs.filter(scan_id__in=scan_ids)
    try:
        return list(qs.select_related("result").order_by("scan__acquired_at", "name", "id"))
    except DatabaseError:
        return []


def voi_result(voi: Any) -> Any | None:
    try:
        return voi.result
    except Exception:  # RelatedObjectDoesNotExist: no result computed yet
        return None


def mri_parameter_sets(lesion_ids: list[int]) -> list[Any]:
    """Completed MRI parameter sets of these lesions' ROIs."""
    pset = model("lesions.MriParameterSet")
    if pset is None or not lesion_ids:
        return []
    qs = (
        pset.objects.filter(voided=False, roi__voided=False, roi__lesion_id__in=lesion_ids)
        .exclude(status="failed")
        .select_related("roi", "roi__visit")
    )
    try:
        return list(qs.order_by("roi__acquired_on", "id"))
    except DatabaseError:
        return []


def mri_period(pset: Any, start: dt.date | None) -> str:
    roi = pset.roi
    code = roi.visit.code if roi.visit_id else ""
    return period_of(roi.participant, roi.acquired_on, code, start=start)


def biopsy_links(biopsy: Any) -> dict[str, Any]:
    """The biopsy page's linked imaging: matched PET scan and its lesion VOIs; MRI parameters of the period."""
    scans = pet_scans([biopsy.participant_id]).get(biopsy.participant_id, [])
    match = matched_scan(biopsy, scans)
    all_vois = lesion_vois([biopsy.lesion_id])
    matched_vois = [v for v in all_vois if match and v.scan_id == match[0].pk]
    start = treatment_start(biopsy.participant)
    psets = mri_parameter_sets([biopsy.lesion_id])
    return {
        "rule": describe(),
        "scan": match[0] if match else None,
        "days_apart": match[1] if match else None,
        "matched_vois": [(v, voi_result(v)) for v in matched_vois],
        "other_vois": [(v, voi_result(v)) for v in all_vois if v not in matched_vois],
        "candidate_scans": [(r, s) for r, s in scans],
        "mri_same_period": [_mri_row(p) for p in psets if mri_period(p, start) == biopsy.period],
        "mri_other": [_mri_row(p) for p in psets if mri_period(p, start) != biopsy.period],
        "mri_labels": list(MRI_PARAMETERS),
    }


def _mri_row(pset: Any) -> tuple[Any, list[str | None]]:
    """The set with its Ktrans..K values to 4 significant digits (None where not measured)."""
    values = [getattr(pset, f, None) for f in MRI_PARAMETERS.values()]
    return pset, [None if v is None else f"{v:.4g}" for v in values]


def describe() -> str:
    from pathology.matching import describe_rule

    return describe_rule(window_days())
