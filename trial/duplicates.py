"""The likely-duplicate rule shared by create services: refuse a twin record unless the user confirms why.

The check runs after `lock_participant`, which serialises creates for one participant (SELECT ... FOR
UPDATE on the Participant row), so two identical submissions in parallel cannot both pass it.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models

from trial.models import Participant

FIELD = "confirm_duplicate_reason"


def lock_participant(participant: Participant) -> Participant:
    """Lock the participant's row until the end of the transaction (must run inside one)."""
    return Participant.objects.select_for_update().get(pk=participant.pk)


def same_minute(when: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the minute `when` falls in."""
    start = when.replace(second=0, microsecond=0)
    return start, start + dt.timedelta(minutes=1)


def confirm_or_refuse(existing: models.Model | None, *, what: str, confirm_reason: str) -> str:
    """'' when there is no twin; the audit reason when the user confirmed one; else a ValidationError.

    `what` names the existing record for the message, e.g. "AE 12 (Fatigue, grade 1, onset 2026-03-01)".
    """
    if existing is None:
        return ""
    reason = (confirm_reason or "").strip()
    if not reason:
        raise ValidationError(
            {
                FIELD: (
                    f"Likely duplicate of {what}. If this is really a separate record, confirm it and "
                    "give the reason."
                )
            }
        )
    return f"Confirmed not a duplicate of {what}: {reason}"
