"""Contributions of the PET side to the participant page, the timeline and the void page."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from imaging import selectors, services
from imaging.models import Modality
from trial import access


def participant_section(request, participant) -> list[dict[str, Any]]:
    services.scans_ensure_for_participant(participant)
    scans = list(
        selectors.scan_list(user=request.user).filter(participant=participant).order_by("visit__planned_date")
    )
    return [
        {
            "title": "PET and MRI scans",
            "template": "imaging/_participant_section.html",
            "context": {
                "scans": [(s, selectors.effective_status(s), selectors.latest_upload(s)) for s in scans],
                "participant": participant,
                "can_upload": access.can(request.user, "imaging", participant.site_id),
            },
        }
    ]


def timeline_items(participant) -> list[dict[str, Any]]:
    items = []
    for scan in participant.scans.filter(voided=False, modality=Modality.PET).select_related("visit"):
        upload = selectors.latest_upload(scan)
        if upload is None:
            continue
        items.append(
            {
                "date": upload.created_at.date(),
                "kind": "pet_upload",
                "object": upload,
                "label": f"PET series uploaded for {scan.visit.name} ({upload.instance_count} instances)",
                "url": reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk}),
                "status": upload.get_state_display(),
            }
        )
    return items


def on_voi_void(*, ctx, instance) -> None:
    """Voiding or restoring a VOI recomputes the scan's results (voided VOIs are left out)."""
    upload_id = instance.upload_id
    services.enqueue_after_commit(upload_id)
