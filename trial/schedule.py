"""Pure visit-schedule arithmetic from the protocol calendar (no Django)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


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
