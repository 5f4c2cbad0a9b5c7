"""Pure visit-schedule arithmetic from the protocol calendar (no Django)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    definition_code: str
    name: str
    kind: str
    planned_date: dt.date
    window_before: int
    window_after: int
    is_study_procedure: bool


def study_day_to_date(day1: dt.date, study_day: int) -> dt.date:
    """Day 1 is treatment start and there is no day 0, so day -1 is the day before day 1."""
    if study_day == 0:
        raise ValueError("There is no study day 0.")
    offset = study_day if study_day < 0 else study_day - 1
    return day1 + dt.timedelta(days=offset)


def plan_visits(
    definitions: list[dict], day1: dt.date, last_procedure: dt.date | None = None
) -> list[PlannedVisit]:
    """Plan every visit of the calendar; anchors are 'treatment_start', 'last_procedure' or a visit code."""
    planned: dict[str, PlannedVisit] = {}
    result: list[PlannedVisit] = []
    for d in definitions:
        if d["anchor"] == "last_procedure":
            continue
        repeat = int(d.get("repeat_count") or 1)
        for i in range(repeat):
            step = int(d.get("repeat_every_days") or 0) * i
            if d["anchor"] == "treatment_start":
                date = study_day_to_date(day1, int(d["day"])) + dt.timedelta(days=step)
            else:
                date = planned[d["anchor"]].planned_date + dt.timedelta(days=int(d["day"]) + step)
            code = d["code"] if repeat == 1 else f"{d['code']}_{i + 1}"
            visit = PlannedVisit(
                code=code,
                definition_code=d["code"],
                name=d["name"] if repeat == 1 else f"{d['name']} {i + 1}",
                kind=d["kind"],
                planned_date=date,
                window_before=int(d.get("window_before", 0)),
                window_after=int(d.get("window_after", 0)),
                is_study_procedure=bool(d.get("procedure", False)),
            )
            planned.setdefault(d["code"], visit)
            result.append(visit)
    last = last_procedure or max((v.planned_date for v in result if v.is_study_procedure), default=day1)
    for d in definitions:
        if d["anchor"] == "last_procedure":
            result.append(
                PlannedVisit(
                    code=d["code"],
                    definition_code=d["code"],
                    name=d["name"],
                    kind=d["kind"],
                    planned_date=last + dt.timedelta(days=int(d["day"])),
                    window_before=int(d.get("window_before", 0)),
                    window_after=int(d.get("window_after", 0)),
                    is_study_procedure=bool(d.get("procedure", False)),
                )
            )
    return sorted(result, key=lambda v: (v.planned_date, v.code))


def is_out_of_window(planned: dt.date, window_before: int, window_after: int, actual: dt.date) -> bool:
    return not (
        planned - dt.timedelta(days=window_before) <= actual <= planned + dt.timedelta(days=window_after)
    )


PET_FORMS = ("pet-images",)


def pet_time_point_visit(tracer: dict, point: dict) -> dict:
    """One calendar row (kind "pet", anchored on the tracer visit) for one PET time point of an injection.

    A time point gives its nominal `hours` after the injection and its window `window_hours_before` /
    `window_hours_after` (hours). The visit's planned day is the nominal hours rounded to whole days after the
    tracer visit; its date window (days) is the smallest that holds every date the hour window can fall on:
    before = day - floor((hours - before_h) / 24), after = ceil((hours + after_h) / 24) - day.
    """
    code = str(point.get("code", "")).strip()
    if not code:
        raise ValueError(f"A PET time point of {tracer['code']} has no code.")
    hours = float(point["hours"])
    before_h = float(point.get("window_hours_before", 0))
    after_h = float(point.get("window_hours_after", 0))
    if not math.isfinite(hours) or hours <= 0:
        raise ValueError(f"PET time point {code}: hours after injection must be positive (got {hours:g}).")
    if min(before_h, after_h) < 0 or not math.isfinite(before_h + after_h):
        raise ValueError(f"PET time point {code}: window hours must be zero or positive.")
    day = int(math.floor(hours / 24.0 + 0.5))
    return {
        "code": code,
        "name": point.get("name") or f"PET {hours:g} h after {tracer['code']}",
        "kind": "pet",
        "anchor": tracer["code"],
        "day": day,
        "window_before": max(0, day - math.floor((hours - before_h) / 24.0)),
        "window_after": max(0, math.ceil((hours + after_h) / 24.0) - day),
        "procedure": bool(point.get("procedure", True)),
        "forms": list(point.get("forms", PET_FORMS)),
        "hours": hours,
        "window_hours_before": before_h,
        "window_hours_after": after_h,
    }


def expand_pet_time_points(visits: list[dict]) -> list[dict]:
    """The calendar with each tracer visit's `pet_time_points` (any number) as PET visit rows right after it.

    Codes must be unique across the calendar (ValueError otherwise).
    """
    out: list[dict] = []
    for visit in visits:
        points = visit.get("pet_time_points") or []
        out.append({k: v for k, v in visit.items() if k != "pet_time_points"})
        out.extend(pet_time_point_visit(visit, point) for point in points)
    codes = [v["code"] for v in out]
    if duplicates := sorted({c for c in codes if codes.count(c) > 1}):
        raise ValueError(f"Visit codes repeat in the calendar: {', '.join(duplicates)}.")
    return out


def pet_hours_plan(definition: dict) -> tuple[float, float, float] | None:
    """(nominal hours after the injection, window hours before, after) of a PET time point row, else None."""
    if definition.get("hours") is None:
        return None
    return (
        float(definition["hours"]),
        float(definition.get("window_hours_before") or 0.0),
        float(definition.get("window_hours_after") or 0.0),
    )


def definitions_as_dicts(definitions: Iterable[Any]) -> list[dict]:
    """Stored visit definitions (trial.VisitDefinition rows) as the calendar dicts `plan_visits` reads."""
    return [
        {
            "code": d.code,
            "name": d.name,
            "kind": d.kind,
            "anchor": d.anchor,
            "day": d.day,
            "window_before": d.window_before,
            "window_after": d.window_after,
            "repeat_every_days": d.repeat_every_days,
            "repeat_count": d.repeat_count,
            "procedure": d.is_study_procedure,
            "hours": d.hours_after_anchor,
            "window_hours_before": d.window_hours_before,
            "window_hours_after": d.window_hours_after,
        }
        for d in definitions
    ]
