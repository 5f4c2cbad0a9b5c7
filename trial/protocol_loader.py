"""Load the protocol (eligibility criteria and visit calendar) from trial/protocol/*.json into the DB.

A tracer visit lists its PET scans as `pet_time_points` (nominal hours after the injection, window in hours);
`trial.schedule.expand_pet_time_points` turns each into a PET visit definition anchored on the injection.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

from trial.schedule import expand_pet_time_points

PROTOCOL_DIR = Path(__file__).resolve().parent / "protocol"


def read_protocol(version: str = "1.0") -> dict:
    return json.loads((PROTOCOL_DIR / f"protocol_v{version}.json").read_text())


def read_pet_series(name: str) -> dict[str, list[dict]]:
    """An alternative PET series per tracer visit code (trial/protocol/pet_series_<name>.json)."""
    return json.loads((PROTOCOL_DIR / f"pet_series_{name}.json").read_text())["pet_time_points"]


def with_pet_series(protocol: dict, series: dict[str, list[dict]]) -> dict:
    """A copy of the protocol whose tracer visits scan at the given time points (ValueError for a tracer code
    the calendar does not have)."""
    data = copy.deepcopy(protocol)
    tracers = {v["code"]: v for v in data["visits"] if v["kind"] == "tracer"}
    if unknown := sorted(set(series) - set(tracers)):
        raise ValueError(f"No tracer visit {', '.join(unknown)} in the calendar.")
    for code, points in series.items():
        tracers[code]["pet_time_points"] = copy.deepcopy(points)
    return data


def calendar_rows(data: dict) -> list[dict]:
    """The protocol's visit definitions with the PET time points expanded (pure)."""
    return expand_pet_time_points(data["visits"])


def load_protocol(apps_or_none=None, version: str = "1.0", data: dict | None = None) -> None:
    """Idempotent: usable from a data migration (pass `apps`) or at run time (pass None); `data` loads a
    protocol dict instead of the file of `version`."""
    if apps_or_none is None:
        from trial.models import EligibilityCriterion, ProtocolVersion, VisitDefinition
    else:
        ProtocolVersion = apps_or_none.get_model("trial", "ProtocolVersion")
        EligibilityCriterion = apps_or_none.get_model("trial", "EligibilityCriterion")
        VisitDefinition = apps_or_none.get_model("trial", "VisitDefinition")
    data = data if data is not None else read_protocol(version)
    pv, _ = ProtocolVersion.objects.get_or_create(
        version=data["version"],
        defaults={"effective_date": dt.date.fromisoformat(data["effective_date"]), "is_current": True},
    )
    for order, c in enumerate(data["criteria"]):
        EligibilityCriterion.objects.update_or_create(
            protocol_version=pv,
            code=c["code"],
            defaults={"kind": c["kind"], "text": c["text"], "order": order},
        )
    # fields that came later (migrations 0012 and 0013): an earlier migration's model has none of them
    fields = {f.name for f in VisitDefinition._meta.get_fields()}
    for order, v in enumerate(calendar_rows(data)):
        later = {}
        if "expected_forms" in fields:
            later["expected_forms"] = list(v.get("forms", []))
        if "hours_after_anchor" in fields:
            later["hours_after_anchor"] = v.get("hours")
            later["window_hours_before"] = v.get("window_hours_before")
            later["window_hours_after"] = v.get("window_hours_after")
        VisitDefinition.objects.update_or_create(
            protocol_version=pv,
            code=v["code"],
            defaults={
                **later,
                "name": v["name"],
                "kind": v["kind"],
                "anchor": v["anchor"],
                "day": v["day"],
                "window_before": v.get("window_before", 0),
                "window_after": v.get("window_after", 0),
                "repeat_every_days": v.get("repeat_every_days"),
                "repeat_count": v.get("repeat_count", 1),
                "is_study_procedure": v.get("procedure", False),
                "order": order,
            },
        )
