"""Builders for lesion-registry tests (real database, services only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from lesions import services
from tests.factories import ctx_for

D0 = dt.date(2026, 1, 5)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def lesion(user: Any, participant: Any, label: str, organ: str, role: str = "target", nodal: bool = False):
    return services.lesion_create(
        ctx=ctx_for(user), participant=participant, label=label, organ=organ, role=role, nodal=nodal
    )


def assess(user: Any, participant: Any, when: dt.date, values: dict[Any, Any], reason: str = ""):
    """Create an assessment on `when` and record {lesion: mm | state | (state, mm) | nt_state}."""
    a = participant.assessments.filter(date=when, voided=False).first() or services.assessment_create(
        ctx=ctx_for(user), participant=participant, date=when
    )
    services.measurements_record(ctx=ctx_for(user), assessment=a, entries=entries(values), reason=reason)
    a.refresh_from_db()
    return a


def entries(values: dict[Any, Any]) -> dict[int, dict[str, Any]]:
    out = {}
    for les, v in values.items():
        if les.role == "non_target":
            out[les.pk] = {"non_target_state": v}
        elif isinstance(v, tuple):
            out[les.pk] = {"state": v[0], "value_mm": v[1]}
        elif isinstance(v, str):
            out[les.pk] = {"state": v}
        else:
            out[les.pk] = {"state": "measured", "value_mm": v}
    return out
