"""Rows for the analyses, read from the system-of-record tables (no analysis-only copies).

Every function returns plain dicts whose keys are the CSV columns of the plot built from them.
Other apps' tables are read defensively (pathology.linked): a missing model yields no rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

from pathology import linked
from pathology.models import Biopsy, IhcScore
from trial.access import scope_to_user
from trial.models import Participant

PET_PAIRS = (("BL_PET2", "OT_PET2"), ("BL_PET1", "OT_PET1"))


def participants(user: Any, filters: dict[str, str]) -> list[Participant]:
    qs = scope_to_user(Participant.objects.select_related("site"), user, site_field="site").filter(
        voided=False
    )
    if filters.get("site"):
        qs = qs.filter(site__code=filters["site"])
    if filters.get("tumour_type"):
        qs = qs.filter(tumour_type=filters["tumour_type"])
    if filters.get("drug"):
        qs = qs.filter(planned_anti_pd1=filters["drug"])
    if filters.get("participant"):
        qs = qs.filter(study_id=filters["participant"])
    return list(qs.order_by("study_id"))


def _base(p: Participant) -> dict[str, Any]:
    return {
        "participant": p.study_id,
        "site": p.site.code,
        "tumour_type": p.tumour_type,
        "anti_pd1": p.planned_anti_pd1,
    }


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _primary_scores(biopsy_ids: list[int]) -> dict[tuple[int, str], IhcScore]:
    """The first live scorer's score per (biopsy, marker code)."""
    out: dict[tuple[int, str], IhcScore] = {}
    qs = IhcScore.objects.filter(biopsy_id__in=biopsy_ids, voided=False).select_related("marker")
    for s in qs.order_by("scorer_number", "id"):
        out.setdefault((s.biopsy_id, s.marker.code), s)
    return out


def _lesion_vois_by_scan(lesion_ids: list[int]) -> dict[tuple[int, int], tuple[Any, Any]]:
    """(lesion id, scan id) -> (voi, result) of the lowest-id live VOI with a result."""
    out: dict[tuple[int, int], tuple[Any, Any]] = {}
    for voi in sorted(linked.lesion_vois(lesion_ids), key=lambda v: v.pk):
        result = linked.voi_result(voi)
        if result is not None:
            out.setdefault((voi.lesion_id, voi.scan_id), (voi, result))
    return out


def _mri_values(psets: list[Any], period: str, start: dt.date | None) -> dict[str, float | None]:
    """Each MRI parameter from the latest parameter set of the period that has it."""
    values: dict[str, float | None] = {label: None for label in linked.MRI_PARAMETERS}
    same = [p for p in psets if linked.mri_period(p, start) == period]
    for p in sorted(same, key=lambda p: (p.roi.acquired_on, p.pk)):
        for label, field in linked.MRI_PARAMETERS.items():
            v = getattr(p, field, None)
            if v is not None:
                values[label] = float(v)
    return values


def biopsy_rows(user: Any, filters: dict[str, str]) -> list[dict[str, Any]]:
    """One row per adequate-or-not live biopsy: matched PET VOI SUVs, first-scorer IHC, same-period MRI."""
    people = {p.pk: p for p in participants(user, filters)}
    biopsies = list(
        Biopsy.objects.filter(participant_id__in=people, voided=False)
        .select_related("lesion")
        .order_by("participant__study_id", "biopsy_date", "id")
    )
    scans = linked.pet_scans(list(people))
    vois = _lesion_vois_by_scan([b.lesion_id for b in biopsies])
    scores = _primary_scores([b.pk for b in biopsies])
    psets: dict[int, list[Any]] = {}
    for p in linked.mri_parameter_sets([b.lesion_id for b in biopsies]):
        psets.setdefault(p.roi.lesion_id, []).append(p)
    starts = {pk: linked.treatment_start(p) for pk, p in people.items()}
    rows = []
    for b in biopsies:
        match = linked.matched_scan(b, scans.get(b.participant_id, []))
        voi, result = vois.get((b.lesion_id, match[0].pk), (None, None)) if match else (None, None)
        cd8 = scores.get((b.pk, "CD8"))
        pdl1 = scores.get((b.pk, "PD-L1"))
        row = {
            **_base(people[b.participant_id]),
            "biopsy": b.sample_id,
            "period": b.period,
            "biopsy_date": b.biopsy_date.isoformat(),
            "lesion": b.lesion.label if b.lesion else "",
            "organ": b.organ,
            "tumour_cells_present": b.tumour_cells_present,
            "scan": match[0].visit.code if match else "",
            "scan_date": ((b.biopsy_date + dt.timedelta(days=match[1])).isoformat() if match else ""),
            "days_biopsy_to_scan": match[1] if match else None,
            "voi": voi.name if voi else "",
            "suv_max": _f(result.suv_max) if result else None,
            "suv_peak": _f(result.suv_peak) if result else None,
            "suv_mean": _f(result.suv_mean) if result else None,
            "cd8_density_intratumoural": _f(cd8.density_intratumoural) if cd8 else None,
            "cd8_density_stromal": _f(cd8.density_stromal) if cd8 else None,
            "cd8_percent": _f(cd8.percent_positive) if cd8 else None,
            "cd8_semi_quant": cd8.semi_quant if cd8 else None,
            "immune_phenotype": cd8.immune_phenotype if cd8 else "",
            "pdl1_tps": _f(pdl1.tps) if pdl1 else None,
            "pdl1_cps": _f(pdl1.cps) if pdl1 else None,
        }
        row.update(_mri_values(psets.get(b.lesion_id, []), b.period, starts[b.participant_id]))
        rows.append(row)
    return rows


def _best_responses(pids: list[int]) -> dict[int, Any]:
    model = linked.model("lesions.ParticipantResponse")
    if model is None:
        return {}
    try:
        return {r.participant_id: r for r in model.objects.filter(participant_id__in=pids, voided=False)}
    except DatabaseError:
        return {}


def _assessments(pids: list[int]) -> dict[int, list[Any]]:
    model = linked.model("lesions.Assessment")
    out: dict[int, list[Any]] = {}
    if model is None:
        return out
    try:
        for a in model.objects.filter(participant_id__in=pids, voided=False).order_by("date", "id"):
            out.setdefault(a.participant_id, []).append(a)
    except DatabaseError:
        return {}
    return out


def _lesion_suv_by_visit(pids: list[int]) -> dict[int, dict[tuple[int, str], float]]:
    """participant -> {(lesion id, scan visit code): SUVmax}."""
    voi_model = linked.model("imaging.Voi")
    out: dict[int, dict[tuple[int, str], float]] = {}
    if voi_model is None:
        return out
    qs = voi_model.objects.filter(
        participant_id__in=pids, voided=False, lesion__isnull=False, lesion__voided=False, scan__voided=False
    ).select_related("scan__visit", "result")
    try:
        for v in qs.order_by("id"):
            r = linked.voi_result(v)
            if r is not None:
                out.setdefault(v.participant_id, {}).setdefault(
                    (v.lesion_id, v.scan.visit.code), float(r.suv_max)
                )
    except DatabaseError:
        return {}
    return out


def _uptake_change(suvs: dict[tuple[int, str], float]) -> tuple[float | None, float | None, str, int]:
    """(baseline mean SUVmax, mean % change, scan pair, lesions) over lesions seen at both time points."""
    for bl, ot in PET_PAIRS:
        lesions = sorted(
            {lid for lid, code in suvs if code == bl} & {lid for lid, code in suvs if code == ot}
        )
        lesions = [lid for lid in lesions if suvs[(lid, bl)] > 0]
        if lesions:
            changes = [(suvs[(lid, ot)] - suvs[(lid, bl)]) / suvs[(lid, bl)] * 100.0 for lid in lesions]
            base = sum(suvs[(lid, bl)] for lid in lesions) / len(lesions)
            return base, sum(changes) / len(changes), f"{bl}->{ot}", len(lesions)
    return None, None, "", 0


def _baseline_uptake(suvs: dict[tuple[int, str], float]) -> float | None:
    """Highest baseline lesion SUVmax (day-6 scan preferred, else day 2)."""
    for code in ("BL_PET2", "BL_PET1"):
        values = [v for (_, c), v in suvs.items() if c == code]
        if values:
            return max(values)
    return None


def response_rows(user: Any, filters: dict[str, str]) -> list[dict[str, Any]]:
    """Per participant: uptake change, best response (RECIST 1.1, iRECIST), best % change of the target sum."""
    people = participants(user, filters)
    pids = [p.pk for p in people]
    responses = _best_responses(pids)
    assessments = _assessments(pids)
    suvs = _lesion_suv_by_visit(pids)
    rows = []
    for p in people:
        base_suv, change, pair, n_lesions = _uptake_change(suvs.get(p.pk, {}))
        sums = [a for a in assessments.get(p.pk, []) if a.sum_mm is not None]
        best = None
        if len(sums) >= 2 and sums[0].sum_mm > 0:
            best = min((a.sum_mm - sums[0].sum_mm) / sums[0].sum_mm * 100.0 for a in sums[1:])
        r = responses.get(p.pk)
        rows.append(
            {
                **_base(p),
                "best_recist": getattr(r, "best_recist", "") or "",
                "best_irecist": getattr(r, "best_irecist", "") or "",
                "baseline_lesion_suvmax_mean": base_suv,
                "suvmax_change_percent": change,
                "pet_pair": pair,
                "lesions_in_change": n_lesions,
                "baseline_uptake_suvmax": _baseline_uptake(suvs.get(p.pk, {})),
                "baseline_sum_mm": sums[0].sum_mm if sums else None,
                "best_sum_change_percent": best,
            }
        )
    return rows


def _adverse_events(pids: list[int]) -> dict[int, list[Any]]:
    model = linked.model("safety.AdverseEvent")
    out: dict[int, list[Any]] = {}
    if model is None:
        return out
    try:
        for ae in model.objects.filter(participant_id__in=pids, voided=False, serious=True).order_by("id"):
            out.setdefault(ae.participant_id, []).append(ae)
    except DatabaseError:
        return {}
    return out


def _partial_date(text: str) -> dt.date | None:
    """A partial date (YYYY, YYYY-MM, YYYY-MM-DD) at its first possible day."""
    parts = (text or "").split("-")
    try:
        return dt.date(
            int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, int(parts[2]) if len(parts) > 2 else 1
        )
    except (ValueError, IndexError):
        return None


def study_day(date: dt.date, day1: dt.date) -> int:
    """Study day: day 1 is the first anti-PD-1 dose; there is no day 0."""
    delta = (date - day1).days
    return delta + 1 if delta >= 0 else delta


def swimmer_rows(user: Any, filters: dict[str, str]) -> list[dict[str, Any]]:
    """Events per participant in days from anti-PD-1 day 1: treatment span, responses, SAEs."""
    people = participants(user, filters)
    pids = [p.pk for p in people]
    assessments = _assessments(pids)
    saes = _adverse_events(pids)
    today = timezone.localdate()
    rows: list[dict[str, Any]] = []
    for p in people:
        day1 = p.visits.filter(code="C1D1", voided=False).values_list("actual_date", flat=True).first()
        if day1 is None or day1 > today:
            continue
        doses = list(p.anti_pd1_doses.filter(voided=False).order_by("administered_at"))
        ongoing = p.status == "on_treatment"
        end = today if ongoing else (doses[-1].administered_at.date() if doses else day1)
        base = _base(p)
        rows.append(
            {
                **base,
                "event": "treatment",
                "day": study_day(end, day1),
                "date": end.isoformat(),
                "value": "ongoing" if ongoing else p.status,
                "day1": day1.isoformat(),
            }
        )
        for a in assessments.get(p.pk, [])[1:]:
            if a.recist_response or a.irecist_response:
                rows.append(
                    {
                        **base,
                        "event": "response",
                        "day": study_day(a.date, day1),
                        "date": a.date.isoformat(),
                        "value": f"{a.recist_response}/{a.irecist_response}",
                        "day1": day1.isoformat(),
                    }
                )
        for ae in saes.get(p.pk, []):
            onset = _partial_date(ae.onset_date)
            if onset:
                rows.append(
                    {
                        **base,
                        "event": "sae",
                        "day": study_day(onset, day1),
                        "date": ae.onset_date,
                        "value": f"{ae.term} grade {ae.grade}",
                        "day1": day1.isoformat(),
                    }
                )
    return rows


def organ_rows(user: Any, filters: dict[str, str]) -> list[dict[str, Any]]:
    """Organ VOI SUVmean per participant and PET scan."""
    voi_model = linked.model("imaging.Voi")
    people = {p.pk: p for p in participants(user, filters)}
    if voi_model is None or not people:
        return []
    qs = voi_model.objects.filter(participant_id__in=people, voided=False, kind="organ", scan__voided=False)
    rows = []
    try:
        for v in qs.select_related("scan__visit", "result").order_by(
            "participant__study_id", "scan__visit__planned_date", "organ", "id"
        ):
            r = linked.voi_result(v)
            if r is None:
                continue
            date = linked.scan_date(v.scan)
            rows.append(
                {
                    **_base(people[v.participant_id]),
                    "organ": v.organ,
                    "scan": v.scan.visit.code,
                    "scan_date": date.isoformat() if date else "",
                    "suv_mean": float(r.suv_mean),
                    "suv_max": float(r.suv_max),
                }
            )
    except DatabaseError:
        return []
    return rows
