"""What monitoring adds to the participant page: lock state, casebook signature, SDV progress."""

from __future__ import annotations

from typing import Any

from monitoring import expected_forms, selectors
from monitoring.services.common import has_role_at, is_data_manager
from monitoring.services.signoff import active_signature
from trial import access
from trial.models import Role


def participant_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    """PARTICIPANT_SECTIONS entry."""
    user = request.user
    rows = selectors.record_statuses(selectors.visible_participants(user).filter(pk=participant.pk))
    required = [r for r in rows if r.required]
    return [
        {
            "title": "Monitoring",
            "template": "monitoring/_participant_section.html",
            "context": {
                "participant": participant,
                "lock": selectors.casebook_lock(participant),
                "signature": active_signature(participant),
                "last_voided": participant.casebook_signatures.filter(voided=True)
                .order_by("-voided_at")
                .first(),
                "required": len(required),
                "verified": sum(r.verified for r in required),
                "changed": [r for r in rows if r.state == "changed since verification"],
                "can_sign": access.can(user, "sign_adverse_events", participant.site_id),
                "can_verify": has_role_at(user, Role.MONITOR, participant.site_id),
                "can_lock": is_data_manager(user) or has_role_at(user, Role.MONITOR, participant.site_id),
            },
        }
    ]


def missing_forms_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    """PARTICIPANT_SECTIONS entry: the forms this participant's opened visits still expect."""
    rows = expected_forms.missing_forms(request.user, participant_id=participant.pk)
    return [
        {
            "title": "Missing forms",
            "template": "monitoring/_missing_forms_section.html",
            "context": {"rows": rows, "overdue": sum(r.overdue for r in rows)},
        }
    ]
