"""Participant page section and timeline items contributed by pathology."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from pathology import selectors
from trial import access


def timeline_items(participant: Any) -> list[dict[str, Any]]:
    items = []
    for b in participant.biopsies.select_related("lesion"):
        items.append(
            {
                "date": b.biopsy_date,
                "kind": "biopsy",
                "object": b,
                "label": f"{b.get_period_display()} biopsy {b.sample_id} of {b.lesion.label if b.lesion else 'an unlinked lesion'} ({b.organ})",
                "url": reverse("pathology:biopsy_detail", kwargs={"biopsy_pk": b.pk}),
                "status": "voided"
                if b.voided
                else ("adequate" if b.tumour_cells_present else "no tumour cells"),
            }
        )
    return items


def participant_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    return [
        {
            "title": "Biopsies and IHC",
            "template": "pathology/_participant_section.html",
            "context": {
                "biopsies": selectors.participant_biopsies(participant),
                "can_add": access.can(request.user, "pathology", participant.site_id),
                "participant": participant,
            },
        }
    ]
