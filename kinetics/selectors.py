"""Reads for the PK pages: time-activity points per participant and injection from stored VOI results.

Only the latest live upload of each live PET scan counts (as on the imaging distribution page); organ VOIs
group by organ, lesion VOIs by lesion label. Access is scoped by the caller (participant_get / the
participant list of the user).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from casebook.models import PkSample
from imaging.models import Modality, SeriesUpload, VoiKind, VoiResult, VoiSource
from kinetics.models import DosimetryExport, PkParameter
from quant.pk import units
from trial.models import Participant

PK_ORGANS = ("blood_pool", "liver", "spleen", "kidney", "bone_marrow", "lung", "muscle")
WHOLE_ORGAN_SOURCES = (VoiSource.NIFTI, VoiSource.RTSTRUCT, VoiSource.SEG)
METRICS = {
    "suv_mean": ("SUVmean", "g/mL"),
    "suv_peak": ("SUVpeak", "g/mL"),
    "kbq_ml": ("Activity concentration", "kBq/mL"),
    "pct_id_kg": ("%ID/kg", "%ID/kg"),
    "pct_id": ("%ID in organ (whole-organ VOIs)", "%ID"),
}
INJECTION_LABELS = {"BL_TRACER": "Baseline injection", "OT_TRACER": "On-treatment injection"}


@dataclass(frozen=True)
class Point:
    """One VOI result at one scan, decay-corrected to injection (the 'corrected' view)."""

    tracer_visit_code: str
    phase: str
    visit_code: str
    nominal_hours: float | None
    hours: float
    key: str
    label: str
    kind: str
    organ: str
    suv_mean: float
    suv_peak: float | None
    pct_id_kg: float
    kbq_ml: float | None
    pct_id: float | None
    whole_organ: bool
    volume_ml: float
    weight_kg: float | None

    def value(self, metric: str, corrected: bool) -> float | None:
        raw = getattr(self, metric)
        if raw is None:
            return None
        return float(raw) if corrected else units.uncorrected(float(raw), self.hours)


def _latest_upload_ids(participant_ids: list[int]) -> set[int]:
    latest: dict[int, int] = {}
    uploads = SeriesUpload.objects.filter(
        participant_id__in=participant_ids, voided=False, scan__voided=False, scan__modality=Modality.PET
    ).order_by("scan_id", "-created_at", "-id")
    for scan_id, upload_id in uploads.values_list("scan_id", "id"):
        latest.setdefault(scan_id, upload_id)
    return set(latest.values())


def _point(result: VoiResult) -> Point | None:
    voi = result.voi
    upload = voi.upload
    params = upload.suv_parameters or {}
    hours = params.get("hours_post_injection")
    if hours is None:
        return None
    weight = units.weight_from_result(result.suv_mean, result.pct_id_per_kg_mean)
    injected = params.get("injected_mbq")
    whole = voi.kind == VoiKind.ORGAN and voi.source in WHOLE_ORGAN_SOURCES
    if voi.kind == VoiKind.ORGAN and voi.organ:
        key, label = voi.organ, voi.get_organ_display()
    else:
        name = voi.lesion.label if voi.lesion else voi.name
        key, label = f"lesion:{name}", f"Lesion {name}"
    scan = voi.scan
    return Point(
        tracer_visit_code=scan.tracer_visit_code,
        phase=scan.phase,
        visit_code=scan.visit.code,
        nominal_hours=scan.planned_hours_post_injection,
        hours=float(hours),
        key=key,
        label=label,
        kind=voi.kind,
        organ=voi.organ,
        suv_mean=result.suv_mean,
        suv_peak=result.suv_peak,
        pct_id_kg=result.pct_id_per_kg_mean,
        kbq_ml=units.kbq_per_ml(result.suv_mean, float(injected), weight) if injected and weight else None,
        pct_id=units.pct_id_in_volume(result.suv_mean, result.volume_ml, weight)
        if whole and weight
        else None,
        whole_organ=whole,
        volume_ml=result.volume_ml,
        weight_kg=weight,
    )


def points_for(participant_ids: list[int]) -> dict[int, list[Point]]:
    """Time-activity points of each participant, ordered by injection, series and hours."""
    latest = _latest_upload_ids(participant_ids)
    results = (
        VoiResult.objects.filter(voi__upload_id__in=latest, voi__voided=False)
        .select_related("voi", "voi__upload", "voi__scan", "voi__scan__visit", "voi__lesion")
        .order_by("participant_id", "voi__scan__visit__planned_date", "voi__name")
    )
    out: dict[int, list[Point]] = {pid: [] for pid in participant_ids}
    seen: set[tuple] = set()
    for result in results:
        point = _point(result)
        if point is None:
            continue
        marker = (result.participant_id, point.visit_code, point.key)
        if marker in seen:  # two VOIs of one organ on one scan: the first by name stands
            continue
        seen.add(marker)
        out[result.participant_id].append(point)
    for pid, serum in _serum_points(participant_ids).items():
        out[pid].extend(serum)
    for pid in out:
        out[pid].sort(key=lambda p: (p.tracer_visit_code, p.kind != VoiKind.ORGAN, p.key, p.hours))
    return out


SERUM_KEY = "serum"


def _serum_points(participant_ids: list[int]) -> dict[int, list[Point]]:
    """Serum activity of the casebook's PK samples (gamma counter, Bq/mL decay-corrected to injection).

    SUV of serum = C[kBq/mL] * W[kg] / D[MBq] with the recorded weight and the net injected activity, so the
    serum curve sits on the same axes as the image-derived ones; SUVpeak and %ID in organ do not apply.
    """
    samples = (
        PkSample.objects.filter(
            participant_id__in=participant_ids,
            voided=False,
            tracer_dose__voided=False,
            activity_bq_per_ml__isnull=False,
            minutes_after_injection__gte=0,
        )
        .select_related("participant", "tracer_dose", "tracer_dose__visit")
        .order_by("sampled_at")
    )
    out: dict[int, list[Point]] = {}
    for sample in samples:
        dose = sample.tracer_dose
        injected, weight = float(dose.net_injected_mbq), float(sample.participant.weight_kg)
        if injected <= 0 or weight <= 0:
            continue
        kbq = float(sample.activity_bq_per_ml) / 1000.0
        suv = kbq * weight / injected
        code = dose.visit.code
        out.setdefault(sample.participant_id, []).append(
            Point(
                tracer_visit_code=code,
                phase="on_treatment" if code.startswith("OT_") else "baseline",
                visit_code=sample.nominal_timepoint,
                nominal_hours=None,
                hours=float(sample.minutes_after_injection) / 60.0,
                key=SERUM_KEY,
                label="Serum (PK samples)",
                kind="serum",
                organ="",
                suv_mean=suv,
                suv_peak=None,
                pct_id_kg=units.pct_id_per_kg(suv, weight),
                kbq_ml=kbq,
                pct_id=None,
                whole_organ=False,
                volume_ml=0.0,
                weight_kg=weight,
            )
        )
    return out


def participant_points(participant: Participant) -> list[Point]:
    return points_for([participant.pk])[participant.pk]


def series(points: list[Point]) -> dict[str, dict[str, list[Point]]]:
    """{tracer visit code: {series key: [points by hours]}}."""
    grouped: dict[str, dict[str, list[Point]]] = {}
    for p in points:
        grouped.setdefault(p.tracer_visit_code, {}).setdefault(p.key, []).append(p)
    return grouped


def data_version(*parts: Any) -> str:
    """SHA-256 of what a figure shows: the cache key of its PNG."""
    payload = json.dumps(
        [
            [asdict(p) if isinstance(p, Point) else p for p in part] if isinstance(part, list) else part
            for part in parts
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def dosimetry_exports(participant: Participant) -> list[DosimetryExport]:
    return list(participant.dosimetry_exports.filter(voided=False).select_related("exported_by")[:20])


def stored_parameters(participant: Participant) -> list[PkParameter]:
    """The participant's live stored PK parameters (the caller scoped the participant)."""
    return list(
        participant.pk_parameters.filter(voided=False).order_by("tracer_visit_code", "series_key", "id")
    )
