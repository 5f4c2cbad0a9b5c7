"""Adapter between stored lesions/measurements and the pure RECIST engine (quant.response.recist).

No database access here: callers pass plain rows, so the same code serves the stored recomputation
and the live (unsaved) preview while a radiologist types.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quant.response import recist
from quant.response.evaluate import evaluate

TOO_SMALL_MM = 5.0


@dataclass(frozen=True)
class LesionRow:
    label: str
    role: str  # target | non_target | new
    organ: str
    nodal: bool


@dataclass(frozen=True)
class MeasurementRow:
    label: str
    state: str  # measured | too_small | disappeared | not_assessed
    value_mm: float | None
    non_target_state: str = ""


@dataclass
class AssessmentRow:
    key: Any
    date: dt.date
    measurements: dict[str, MeasurementRow] = field(default_factory=dict)


def effective_mm(m: MeasurementRow | None) -> float | None:
    """RECIST convention: too small to measure = 5 mm, disappeared = 0, not assessed = None."""
    if m is None or m.state == "not_assessed":
        return None
    if m.state == "too_small":
        return TOO_SMALL_MM
    if m.state == "disappeared":
        return 0.0
    return m.value_mm


def _nt_state(m: MeasurementRow | None) -> str:
    """Non-target status; a diameter recorded before a role change maps to present/absent."""
    if m is None:
        return recist.NOT_ASSESSED
    if m.non_target_state:
        return m.non_target_state
    return {"disappeared": recist.ABSENT, "not_assessed": recist.NOT_ASSESSED}.get(m.state, recist.PRESENT)


def to_engine(
    lesions: Iterable[LesionRow], assessments: list[AssessmentRow]
) -> tuple[list[recist.Lesion], list[recist.Assessment]]:
    """Engine inputs: baseline targets/non-targets every time point; new lesions where recorded."""
    lesions = list(lesions)
    base = [les for les in lesions if les.role in recist.ROLES]
    new = [les for les in lesions if les.role == "new"]
    e_lesions = [recist.Lesion(les.label, les.role, les.organ, les.nodal) for les in base]
    out = []
    for a in assessments:
        ms = a.measurements
        target_mm = {les.label: effective_mm(ms.get(les.label)) for les in base if les.role == recist.TARGET}
        non_target = {
            les.label: _nt_state(ms.get(les.label)) for les in base if les.role == recist.NON_TARGET
        }
        new_lesions = tuple(
            recist.NewLesion(les.label, les.organ, les.nodal, effective_mm(ms[les.label]))
            for les in new
            if les.label in ms
        )
        out.append(recist.Assessment(a.date, target_mm, non_target, new_lesions))
    return e_lesions, out


@dataclass
class Computed:
    """Per-assessment stored values plus the best overall response, or the engine's refusal."""

    per_assessment: dict[Any, dict[str, Any]]
    best: dict[str, Any]
    error: str = ""


def compute(lesions: Iterable[LesionRow], assessments: list[AssessmentRow]) -> Computed:
    """Run RECIST 1.1 + iRECIST; an invalid input gives empty responses with the readable error."""
    assessments = sorted(assessments, key=lambda a: a.date)
    if not assessments:
        return Computed({}, {}, "")
    e_lesions, e_assessments = to_engine(lesions, assessments)
    try:
        ev = evaluate(e_lesions, e_assessments)
    except recist.RecistInputError as exc:
        empty = {a.key: blank_result() for a in assessments}
        return Computed(empty, {}, str(exc))
    per: dict[Any, dict[str, Any]] = {}
    nadir: float | None = None
    for a, tp in zip(assessments, ev.timepoints):
        per[a.key] = {
            "sum_mm": tp.sum_mm,
            "nadir_mm": nadir,
            "new_lesion_target_sum_mm": tp.new_lesion_target_sum_mm,
            "target_response": tp.target_response or "",
            "non_target_response": tp.non_target_response or "",
            "new_lesions_present": tp.new_lesion_present,
            "recist_response": tp.recist or "",
            "irecist_response": tp.irecist or "",
            "reasons": {k: v.as_dict() for k, v in tp.reasons.items()},
            "engine_error": "",
        }
        if tp.sum_mm is not None:
            nadir = tp.sum_mm if nadir is None else min(nadir, tp.sum_mm)
    best = {
        "best_recist": ev.best_recist,
        "best_irecist": ev.best_irecist,
        "progression_date_recist": ev.progression_date["recist"],
        "progression_date_irecist": ev.progression_date["irecist"],
        "reasons": {k: v.as_dict() for k, v in ev.best_reasons.items()},
    }
    return Computed(per, best)


def blank_result() -> dict[str, Any]:
    return {
        "sum_mm": None,
        "nadir_mm": None,
        "new_lesion_target_sum_mm": None,
        "target_response": "",
        "non_target_response": "",
        "new_lesions_present": False,
        "recist_response": "",
        "irecist_response": "",
        "reasons": {},
        "engine_error": "",
    }


def selection_issues(
    lesions: Iterable[LesionRow], baseline: Mapping[str, float | None], *, complete: bool = False
) -> list[recist.SelectionIssue]:
    """Baseline-selection problems (quant.response.recist rules); unmeasured targets only when complete."""
    e_lesions = [
        recist.Lesion(les.label, les.role, les.organ, les.nodal)
        for les in lesions
        if les.role in recist.ROLES
    ]
    issues = recist.validate_baseline_selection(e_lesions, baseline)
    skip = set() if complete else {"target_unmeasured", "no_disease"}
    return [i for i in issues if i.rule not in skip]
