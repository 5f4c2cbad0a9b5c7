"""Reads of PET scans, uploads, findings, VOIs and results, always scoped to the user's sites."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from imaging.models import Finding, Modality, Scan, ScanStatus, SeriesUpload, UploadState, Voi, VoiResult
from trial.access import scope_to_user, sites_visible_to
from trial.models import Participant, TracerDose, VisitStatus
from trial.selectors import scoped_get


def scan_list(*, user: Any) -> QuerySet[Scan]:
    return scope_to_user(
        Scan.objects.select_related("participant", "participant__site", "visit"), user
    ).filter(voided=False, participant__voided=False)


def scan_get(*, user: Any, pk: int) -> Scan:
    scan = scoped_get(Scan, user=user, pk=pk)
    return Scan.objects.select_related("participant", "participant__site", "visit").get(pk=scan.pk)


def upload_list(*, user: Any) -> QuerySet[SeriesUpload]:
    return scope_to_user(SeriesUpload.objects.select_related("scan", "participant"), user)


def finding_list(*, user: Any) -> QuerySet[Finding]:
    return scope_to_user(Finding.objects.select_related("scan", "participant"), user)


def voi_list(*, user: Any) -> QuerySet[Voi]:
    return scope_to_user(Voi.objects.select_related("scan", "participant", "lesion"), user)


def voi_result_list(*, user: Any) -> QuerySet[VoiResult]:
    return scope_to_user(VoiResult.objects.select_related("voi", "voi__scan", "participant"), user)


def latest_upload(scan: Scan) -> SeriesUpload | None:
    return scan.uploads.filter(voided=False).order_by("-created_at", "-id").first()


def scan_vois(scan: Scan) -> list[Voi]:
    upload = latest_upload(scan)
    if upload is None:
        return []
    return list(
        upload.vois.filter(voided=False)
        .select_related("lesion")
        .prefetch_related(Prefetch("result", queryset=VoiResult.objects.all()))
        .order_by("kind", "name")
    )


def result_or_none(voi: Voi) -> VoiResult | None:
    try:
        return voi.result
    except VoiResult.DoesNotExist:
        return None


def effective_status(scan: Scan) -> str:
    """A scheduled scan whose visit is recorded done counts as acquired (waiting for upload)."""
    if scan.status == ScanStatus.SCHEDULED and scan.visit.status == VisitStatus.DONE:
        return ScanStatus.ACQUIRED
    return scan.status


def worklist(*, user: Any, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per visible site: PET/MRI scans due, overdue, waiting for upload and waiting for review."""
    today = today or timezone.localdate()
    scans = list(
        scan_list(user=user).prefetch_related(
            Prefetch(
                "findings",
                queryset=Finding.objects.filter(voided=False, acknowledged=False),
                to_attr="open_findings",
            ),
            Prefetch("uploads", queryset=SeriesUpload.objects.filter(voided=False), to_attr="live_uploads"),
        )
    )
    rows = []
    for site in sites_visible_to(user):
        mine = [s for s in scans if s.participant.site_id == site.pk]
        buckets: dict[str, list[Scan]] = {"due": [], "overdue": [], "upload": [], "review": []}
        for scan in mine:
            bucket = _bucket(scan, today)
            if bucket:
                buckets[bucket].append(scan)
        for key in buckets:
            buckets[key].sort(key=lambda s: (s.visit.planned_date, s.participant.study_id))
        rows.append({"site": site, **buckets})
    return rows


def _bucket(scan: Scan, today: dt.date) -> str | None:
    status = effective_status(scan)
    if scan.visit.status == VisitStatus.MISSED or status == ScanStatus.ANALYSED and not scan.open_findings:
        return None
    if status in (ScanStatus.ACQUIRED, ScanStatus.REJECTED):
        return "upload" if scan.modality == Modality.PET or status == ScanStatus.ACQUIRED else None
    if status == ScanStatus.SCHEDULED:
        if scan.visit.window_end < today:
            return "overdue"
        if scan.visit.window_start <= today:
            return "due"
        return None
    if status == ScanStatus.UPLOADED or scan.open_findings:
        failed = any(u.state == UploadState.FAILED for u in scan.live_uploads)
        return "review" if scan.open_findings or failed or status == ScanStatus.UPLOADED else None
    return None


def tracer_dose_for(scan: Scan) -> TracerDose | None:
    return (
        TracerDose.objects.filter(
            participant_id=scan.participant_id, visit__code=scan.tracer_visit_code, voided=False
        )
        .order_by("administered_at")
        .first()
    )


def distribution_rows(participant: Participant) -> list[dict[str, Any]]:
    """One row per VOI result of the participant's analysed PET scans, with hours after injection."""
    rows = []
    scans = Scan.objects.filter(participant=participant, voided=False, modality=Modality.PET).select_related(
        "visit"
    )
    for scan in scans.order_by("visit__planned_date"):
        upload = latest_upload(scan)
        if upload is None:
            continue
        hours = (upload.suv_parameters or {}).get("hours_post_injection")
        for voi in upload.vois.filter(voided=False).select_related("lesion").order_by("kind", "name"):
            result = result_or_none(voi)
            if result is None:
                continue
            rows.append(
                {
                    "scan": scan,
                    "visit_code": scan.visit.code,
                    "phase": scan.phase,
                    "hours": hours,
                    "voi": voi,
                    "name": voi.name,
                    "kind": voi.kind,
                    "organ": voi.organ,
                    "lesion": voi.lesion.label if voi.lesion else "",
                    "suv_mean": result.suv_mean,
                    "suv_max": result.suv_max,
                    "suv_peak": result.suv_peak,
                    "pct_id_per_kg_mean": result.pct_id_per_kg_mean,
                    "volume_ml": result.volume_ml,
                }
            )
    return rows
