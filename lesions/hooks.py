"""Registrations into the trial frame: timeline items, participant page section, void follow-up."""

from __future__ import annotations

from typing import Any

from django.urls import reverse


def timeline(participant: Any) -> list[dict[str, Any]]:
    items = []
    for a in participant.assessments.filter(voided=False):
        status = " / ".join(x for x in (a.recist_response, a.irecist_response) if x) or "baseline"
        items.append(
            {
                "date": a.date,
                "kind": "recist_assessment",
                "object": a,
                "label": f"Tumour assessment ({a.get_modality_display()}), sum {f'{a.sum_mm:.1f}' if a.sum_mm is not None else '—'} mm",
                "url": reverse("lesions:assessment", args=[a.pk]),
                "status": status,
            }
        )
    return items


def participant_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    from lesions.models import ParticipantResponse

    assessments = participant.assessments.filter(voided=False).order_by("date")
    return [
        {
            "title": "Lesions & tumour response",
            "template": "lesions/_participant_section.html",
            "context": {
                "participant": participant,
                "n_lesions": participant.lesions.filter(voided=False).count(),
                "n_assessments": assessments.count(),
                "last": assessments.last(),
                "best": ParticipantResponse.objects.filter(participant=participant).first(),
            },
        }
    ]


def on_void(*, ctx: Any, instance: Any) -> None:
    from lesions.services import on_registry_void

    on_registry_void(ctx=ctx, instance=instance)
