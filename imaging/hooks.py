"""Contributions of the PET side to the participant page, the timeline and the void page."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from imaging import selectors, services
from imaging.models import Modality
from trial import access


def plan_scans_for_visit(instance, *, action: str, changes: dict, ctx: Any, reason: str) -> None:
    """Write-gate listener: a PET or MRI visit gets its Scan when the visit is planned (or first recorded, for
    visits planned before scans were), in the same transaction, so pages and API lists only read."""
    if instance._meta.label_lower != "trial.visit" or instance.kind not in ("pet", "mri"):
        return
    if action == "create" or (action == "update" and not hasattr(instance, "scan")):
        services.scans_ensure_for_participant(instance.participant)


def participant_section(request, participant) -> list[dict[str, Any]]:
    scans = selectors.with_latest_upload(
        selectors.scan_list(user=request.user).filter(participant=participant).order_by("visit__planned_date")
    )
    return [
        {
            "title": "PET and MRI scans",
            "template": "imaging/_participant_section.html",
            "context": {
                "scans": [(s, selectors.effective_status(s), s.latest_upload) for s in scans],
                "participant": participant,
                "can_upload": access.can(request.user, "imaging", participant.site_id),
            },
        }
    ]


def _instances(n: int) -> str:
    """An enhanced PET is one instance holding every slice."""
    return f"{n} instance" if n == 1 else f"{n} instances"


def timeline_items(participant) -> list[dict[str, Any]]:
    items = []
    for scan in selectors.with_latest_upload(
        participant.scans.filter(voided=False, modality=Modality.PET).select_related("visit")
    ):
        upload = scan.latest_upload
        if upload is None:
            continue
        items.append(
            {
                "date": upload.created_at.date(),
                "kind": "pet_upload",
                "object": upload,
                "label": f"PET series uploaded for {scan.visit.name} ({_instances(upload.instance_count)})",
                "url": reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk}),
                "status": upload.get_state_display(),
            }
        )
    return items


def on_voi_void(*, ctx, instance) -> None:
    """Voiding or restoring a VOI recomputes the scan's results (voided VOIs are left out)."""
    upload_id = instance.upload_id
    services.enqueue_after_commit(upload_id)
