"""Reads of PET scans, uploads, findings, VOIs and results, always scoped to the user's sites."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from imaging.models import Finding, Modality, Scan, ScanStatus, SeriesUpload, Voi, VoiResult
from trial.access import scope_to_user, sites_visible_to
from trial.models import Participant, TracerDose, VisitStatus
from trial.selectors import scoped_get
from trial.sql import MinusDays, PlusDays


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


def prefetch_latest_upload(scans: QuerySet[Scan]) -> QuerySet[Scan]:
    """Scans with `live_uploads_newest_first` prefetched (one query for a whole page of scans)."""
    live = SeriesUpload.objects.filter(voided=False).order_by("-created_at", "-id")
    return scans.prefetch_related(Prefetch("uploads", queryset=live, to_attr="live_uploads_newest_first"))


def with_latest_upload(scans: QuerySet[Scan]) -> list[Scan]:
    """The scans, each with `latest_upload` (as `latest_upload()` gives it), in two queries."""
    result = list(prefetch_latest_upload(scans))
    for scan in result:
        scan.latest_upload = scan.live_uploads_newest_first[0] if scan.live_uploads_newest_first else None
    return result


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


WORKLIST_BUCKETS = {
    "due": "Due",
    "overdue": "Overdue",
    "upload": "Waiting for upload",
    "review": "Waiting for review",
}


def _bucket_conditions(today: dt.date) -> dict[str, Q]:
    """The worklist buckets as SQL conditions on scans annotated with `open_findings_exist`, `window_start` and
    `window_end`. A scheduled scan whose visit is done counts as acquired; missed visits and analysed scans
    without open findings are in no bucket; a rejected MRI needs nothing from the PET side."""
    acquired = Q(status=ScanStatus.ACQUIRED) | Q(status=ScanStatus.SCHEDULED, visit__status=VisitStatus.DONE)
    scheduled = Q(status=ScanStatus.SCHEDULED) & ~Q(visit__status=VisitStatus.DONE)
    return {
        "due": scheduled & Q(window_start__lte=today, window_end__gte=today),
        "overdue": scheduled & Q(window_end__lt=today),
        "upload": acquired | Q(status=ScanStatus.REJECTED, modality=Modality.PET),
        "review": Q(status=ScanStatus.UPLOADED) | Q(status=ScanStatus.ANALYSED, open_findings_exist=True),
    }


def _worklist_base(user: Any) -> QuerySet[Scan]:
    open_findings = Finding.objects.filter(scan=OuterRef("pk"), voided=False, acknowledged=False)
    return (
        scan_list(user=user)
        .exclude(visit__status=VisitStatus.MISSED)
        .annotate(
            open_findings_exist=Exists(open_findings),
            window_start=MinusDays(F("visit__planned_date"), F("visit__window_before")),
            window_end=PlusDays(F("visit__planned_date"), F("visit__window_after")),
        )
    )


def worklist_counts(*, user: Any, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per visible site the number of scans in each bucket: two queries whatever the number of sites."""
    today = today or timezone.localdate()
    conditions = _bucket_conditions(today)
    counts = {
        row["participant__site_id"]: row
        for row in _worklist_base(user)
        .order_by()
        .values("participant__site_id")
        .annotate(**{name: Count("pk", filter=cond) for name, cond in conditions.items()})
    }
    empty = dict.fromkeys(conditions, 0)
    return [
        {"site": site, **{k: counts.get(site.pk, empty)[k] for k in conditions}}
        for site in sites_visible_to(user)
    ]


def worklist_scans(
    *, user: Any, bucket: str, today: dt.date | None = None, site_code: str = ""
) -> QuerySet[Scan]:
    """The scans of one bucket in window order, with their open findings (prefetched when evaluated)."""
    today = today or timezone.localdate()
    qs = _worklist_base(user).filter(_bucket_conditions(today)[bucket])
    if site_code:
        qs = qs.filter(participant__site__code=site_code)
    return qs.prefetch_related(
        Prefetch(
            "findings",
            queryset=Finding.objects.filter(voided=False, acknowledged=False),
            to_attr="open_findings",
        )
    ).order_by("visit__planned_date", "participant__study_id", "id")


def worklist(*, user: Any, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per visible site: every PET/MRI scan due, overdue, waiting for upload and waiting for review (one query
    per bucket; the worklist page shows counts and one bucket a page at a time instead)."""
    today = today or timezone.localdate()
    sites = list(sites_visible_to(user))
    rows = {site.pk: {"site": site, **{k: [] for k in WORKLIST_BUCKETS}} for site in sites}
    for bucket in WORKLIST_BUCKETS:
        for scan in worklist_scans(user=user, bucket=bucket, today=today):
            if scan.participant.site_id in rows:
                rows[scan.participant.site_id][bucket].append(scan)
    return [rows[site.pk] for site in sites]


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
