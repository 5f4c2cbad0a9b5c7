"""The MRI part of the participant page: each MRI scan with its series and maps, linking to its MRI page."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from imaging import selectors as imaging_selectors
from imaging.models import Modality
from mri.models import JobState


def participant_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    """One query whatever the number of MRI scans: the series and finished map jobs are counted in SQL."""
    scans = list(
        imaging_selectors.scan_list(user=request.user)
        .filter(participant=participant, modality=Modality.MRI)
        .annotate(
            n_series=Count("mr_series_uploads", filter=Q(mr_series_uploads__voided=False), distinct=True),
            n_jobs=Count(
                "mr_map_jobs",
                filter=Q(mr_map_jobs__voided=False, mr_map_jobs__state=JobState.DONE),
                distinct=True,
            ),
        )
        .order_by("visit__planned_date")
    )
    if not scans:
        return []
    rows = [(s, s.n_series, s.n_jobs) for s in scans]
    return [
        {
            "title": "mpMRI series and maps",
            "template": "mri/_participant_section.html",
            "context": {"rows": rows},
        }
    ]


CASCADE_PREFIX = "its MRI ROI was voided"


def on_roi_void(*, ctx: Any, instance: Any) -> None:
    """Voiding a map ROI voids the lesion parameter sets and texture analyses made from it; restoring it restores
    those (and only those) the cascade voided, so no derived value outlives the region it came from."""
    from lesions.models import MaskAnalysis, MriParameterSet
    from trial.audit import audited_restore, audited_void

    for model in (MriParameterSet, MaskAnalysis):
        derived = model.objects.filter(mr_roi=instance)
        if instance.voided:
            reason = f"{CASCADE_PREFIX} (ROI #{instance.pk}: {instance.void_reason})"
            for record in derived.filter(voided=False):
                audited_void(record, ctx=ctx, reason=reason)
        else:
            for record in derived.filter(voided=True, void_reason__startswith=CASCADE_PREFIX):
                audited_restore(record, ctx=ctx, reason=f"its MRI ROI #{instance.pk} was restored")
