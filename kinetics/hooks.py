"""The PK side's contribution to the participant page: a link to the curves, fits and TIACs."""

from __future__ import annotations

from typing import Any


def participant_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    return [
        {
            "title": "Tracer pharmacokinetics",
            "template": "kinetics/_participant_section.html",
            "context": {"participant": participant},
        }
    ]
