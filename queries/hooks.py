"""What queries add to the dashboard and the participant page (registered in QueriesConfig.ready)."""

from __future__ import annotations

from typing import Any

from queries import selectors


def dashboard_panel(request) -> list[dict[str, Any]]:
    rows = selectors.site_summary(user=request.user)
    if not rows:
        return []
    return [{"title": "Queries", "template": "queries/_dashboard_panel.html", "context": {"rows": rows}}]


def participant_section(request, participant) -> list[dict[str, Any]]:
    queries = list(
        selectors.query_list(user=request.user, filters={"participant": participant.study_id}).order_by(
            "-raised_at", "-id"
        )[:50]
    )
    return [
        {
            "title": "Queries",
            "template": "queries/_participant_section.html",
            "context": {"queries": queries, "participant": participant},
        }
    ]
