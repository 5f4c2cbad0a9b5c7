"""Small builders for RECIST/iRECIST scenarios: day offsets from 2025-01-01, one dict per lesion kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from quant.response.evaluate import evaluate
from quant.response.recist import Assessment, Evaluation, Lesion, NewLesion, Settings

START = dt.date(2025, 1, 1)


def target(lid: str, organ: str, nodal: bool = False) -> Lesion:
    return Lesion(lid, "target", organ, nodal)


def non_target(lid: str, organ: str, nodal: bool = False) -> Lesion:
    return Lesion(lid, "non_target", organ, nodal)


def new(lid: str, organ: str, mm: float | None, nodal: bool = False) -> NewLesion:
    return NewLesion(lid, organ, nodal, mm)


def visit(
    day: int,
    target_mm: Mapping[str, float | None] | None = None,
    nt: Mapping[str, str] | None = None,
    new_lesions: Sequence[NewLesion] = (),
) -> Assessment:
    return Assessment(
        START + dt.timedelta(days=day), dict(target_mm or {}), dict(nt or {}), tuple(new_lesions)
    )


def run(lesions: Sequence[Lesion], visits: Sequence[Assessment], **settings: Any) -> Evaluation:
    return evaluate(lesions, visits, Settings(**settings))


def column(ev: Evaluation, key: str) -> list[str | None]:
    """One response column over the follow-up visits (baseline left out)."""
    return [getattr(tp, key) for tp in ev.timepoints[1:]]
