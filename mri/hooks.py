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
    """Voiding a map ROI voids the lesion parameter sets summarised from it; restoring it restores those
    (and only those) the cascade voided, so a parameter set never outlives the region its values came from."""
    from lesions.models import MriParameterSet
    from trial.audit import audited_restore, audited_void

    if instance.voided:
        for parameter_set in MriParameterSet.objects.filter(mr_roi=instance, voided=False):
            audited_void(
                parameter_set,
                ctx=ctx,
                reason=f"{CASCADE_PREFIX} (ROI #{instance.pk}: {instance.void_reason})",
            )
        return
    for parameter_set in MriParameterSet.objects.filter(
        mr_roi=instance, voided=True, void_reason__startswith=CASCADE_PREFIX
    ):
        audited_restore(parameter_set, ctx=ctx, reason=f"its MRI ROI #{instance.pk} was restored")
