"""SDV plans as data, one JSON file per protocol version (`sdv_<version>.json`), and the sampling rule."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PLANS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SdvPlan:
    protocol_version: str
    full: dict[str, str]
    sampled: tuple[str, ...]
    percent: int
    rule: str

    @property
    def resources(self) -> tuple[str, ...]:
        return (*self.full, *self.sampled)

    def requires(self, resource: str, object_id: int) -> bool:
        """Whether this record needs verification: every record of a 100 % resource, a stated sample of the rest."""
        if resource in self.full:
            return True
        if resource in self.sampled:
            return sampled(resource, object_id, self.percent)
        return False

    def reason(self, resource: str) -> str:
        if resource in self.full:
            return f"100 %: {self.full[resource]}"
        return f"sampled {self.percent} %"


def sampled(resource: str, object_id: int, percent: int) -> bool:
    digest = hashlib.sha256(f"{resource}:{object_id}".encode()).hexdigest()
    return int(digest[:8], 16) % 100 < percent


@cache
def plan_for(protocol_version: str | None = None) -> SdvPlan:
    """The plan of a protocol version (the newest plan file when none is named or none exists for it)."""
    files = sorted(PLANS_DIR.glob("sdv_*.json"))
    chosen = next((f for f in files if f.stem == f"sdv_{protocol_version}"), files[-1])
    data = json.loads(chosen.read_text(encoding="utf-8"))
    return SdvPlan(
        protocol_version=data["protocol_version"],
        full=dict(data["full"]),
        sampled=tuple(data["sampled"]["resources"]),
        percent=int(data["sampled"]["percent"]),
        rule=data["sampled"]["rule"],
    )


def current_plan() -> SdvPlan:
    from trial.models import ProtocolVersion

    version = ProtocolVersion.objects.filter(is_current=True).values_list("version", flat=True).first()
    return plan_for(version)
