"""Reads for the MRI pages, scoped to the user's sites through the scan."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from imaging import selectors as imaging_selectors
from imaging.models import Modality, Scan
from mri.models import JobState, MrMap, MrMapJob, MrSeriesUpload


def mri_scan_get(*, user: Any, pk: int) -> Scan:
    scan = imaging_selectors.scan_get(user=user, pk=pk)
    if scan.modality != Modality.MRI:
        raise Http404("Not an MRI scan.")
    return scan


def series_for_scan(scan: Scan) -> QuerySet[MrSeriesUpload]:
    return MrSeriesUpload.objects.filter(scan=scan, voided=False).order_by("created_at", "id")


def jobs_for_scan(scan: Scan) -> QuerySet[MrMapJob]:
    return (
        MrMapJob.objects.filter(scan=scan, voided=False)
        .select_related("series", "vfa")
        .prefetch_related("maps")
    )


def map_get(*, user: Any, pk: int) -> MrMap:
    m = MrMap.objects.select_related("job__scan").filter(pk=pk, voided=False).first()
    if m is None:
        raise Http404("No such map.")
    mri_scan_get(user=user, pk=m.job.scan_id)  # scoping: another site's map is a 404
    return m


def job_get(*, user: Any, pk: int) -> MrMapJob:
    job = MrMapJob.objects.select_related("scan", "series", "participant").filter(pk=pk, voided=False).first()
    if job is None:
        raise Http404("No such job.")
    mri_scan_get(user=user, pk=job.scan_id)
    return job


def map_parameter_choices(jobs: QuerySet[MrMapJob]) -> list[tuple[str, str]]:
    """(parameter, label) of every live map of these jobs, once each, for a texture-map choice."""
    rows = MrMap.objects.filter(job__in=jobs, voided=False).values_list("parameter", "label").distinct()
    return sorted(set(rows))


def done_jobs_for_participant(participant: Any) -> QuerySet[MrMapJob]:
    """Finished map jobs of one participant (the caller has already scoped the participant)."""
    return (
        MrMapJob.objects.filter(participant=participant, voided=False, state=JobState.DONE)
        .select_related("scan__visit", "series")
        .order_by("scan__visit__planned_date", "id")
    )
