"""The MRI part of the participant page: each MRI scan with its series and maps, linking to its MRI page."""

from __future__ import annotations

from typing import Any

from imaging import selectors as imaging_selectors
from imaging.models import Modality
from mri.models import JobState, MrMapJob, MrSeriesUpload


def participant_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    scans = list(
        imaging_selectors.scan_list(user=request.user)
        .filter(participant=participant, modality=Modality.MRI)
        .order_by("visit__planned_date")
    )
    if not scans:
        return []
    rows = [
        (
            s,
            MrSeriesUpload.objects.filter(scan=s, voided=False).count(),
            MrMapJob.objects.filter(scan=s, voided=False, state=JobState.DONE).count(),
        )
        for s in scans
    ]
    return [
        {
            "title": "mpMRI series and maps",
            "template": "mri/_participant_section.html",
            "context": {"rows": rows},
        }
    ]
