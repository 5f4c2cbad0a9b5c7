"""Load the protocol (eligibility criteria and visit calendar) from trial/protocol/*.json into the DB."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

PROTOCOL_DIR = Path(__file__).resolve().parent / "protocol"


def read_protocol(version: str = "1.0") -> dict:
    return json.loads((PROTOCOL_DIR / f"protocol_v{version}.json").read_text())


def load_protocol(apps_or_none=None, version: str = "1.0") -> None:
    """Idempotent: usable from a data migration (pass `apps`) or at run time (pass None)."""
    if apps_or_none is None:
        from trial.models import EligibilityCriterion, ProtocolVersion, VisitDefinition
    else:
        ProtocolVersion = apps_or_none.get_model("trial", "ProtocolVersion")
        EligibilityCriterion = apps_or_none.get_model("trial", "EligibilityCriterion")
        VisitDefinition = apps_or_none.get_model("trial", "VisitDefinition")
    data = read_protocol(version)
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
    # the expected forms came later (migration 0012): an earlier migration's model has no such field
    has_forms = any(f.name == "expected_forms" for f in VisitDefinition._meta.get_fields())
    for order, v in enumerate(data["visits"]):
        forms = {"expected_forms": list(v.get("forms", []))} if has_forms else {}
        VisitDefinition.objects.update_or_create(
            protocol_version=pv,
            code=v["code"],
            defaults={
                **forms,
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
