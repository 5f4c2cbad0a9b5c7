"""Query badges where people work: `{% load query_tags %}`

`{% query_record_badge "adverse-events" ae.pk %}` shows the record's live (open or answered) queries;
`{% query_field_badge "adverse-events" ae.pk "grade" %}` those of one field, with a "raise a query" link
for a monitor or data manager. The record's live queries are read once per request.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from queries import selectors, services
from queries.models import LIVE_STATUSES, QueryStatus

register = template.Library()


def _live(context: template.Context, resource: str, object_id: int) -> list[Any]:
    request = context.get("request")
    if request is None or not getattr(request.user, "is_authenticated", False):
        return []
    cache = request.__dict__.setdefault("_live_queries", {})
    key = (resource, int(object_id))
    if key not in cache:
        cache[key] = selectors.live_for_record(user=request.user, resource=resource, object_id=int(object_id))
    return cache[key]


def _badge(queries: list[Any], list_url: str) -> dict[str, Any]:
    open_count = sum(1 for q in queries if q.status == QueryStatus.OPEN)
    answered = len(queries) - open_count
    url = (
        reverse("queries:query_detail", kwargs={"query_pk": queries[0].pk}) if len(queries) == 1 else list_url
    )
    return {"count": len(queries), "open": open_count, "answered": answered, "url": url}


@register.inclusion_tag("queries/_badge.html", takes_context=True)
def query_record_badge(context: template.Context, resource: str, object_id: int) -> dict[str, Any]:
    if object_id in (None, ""):
        return {"badge": None}
    queries = _live(context, resource, object_id)
    list_url = (
        reverse("queries:query_list")
        + "?"
        + urlencode({"resource": resource, "object_id": object_id, "status": "live"})
    )
    return {"badge": _badge(queries, list_url) if queries else None, "scope": "record"}


@register.inclusion_tag("queries/_badge.html", takes_context=True)
def query_field_badge(
    context: template.Context, resource: str, object_id: int, field: str, site_id: int | None = None
) -> dict[str, Any]:
    if object_id in (None, ""):
        return {"badge": None}
    queries = [q for q in _live(context, resource, object_id) if q.field == field]
    list_url = (
        reverse("queries:query_list")
        + "?"
        + urlencode({"resource": resource, "object_id": object_id, "field": field, "status": "live"})
    )
    request = context.get("request")
    raise_url = ""
    if request is not None and site_id is not None and services.may_raise(request.user, int(site_id)):
        raise_url = (
            reverse("queries:query_new")
            + "?"
            + urlencode({"resource": resource, "object_id": object_id, "field": field})
        )
    return {
        "badge": _badge(queries, list_url) if queries else None,
        "scope": "field",
        "field": field,
        "raise_url": raise_url,
    }


@register.inclusion_tag("queries/_badge.html", takes_context=True)
def query_participant_badge(context: template.Context, participant: Any) -> dict[str, Any]:
    """All live queries on any record of the participant, linking to the participant's query list."""
    request = context.get("request")
    if request is None or participant is None:
        return {"badge": None}
    queries = list(
        selectors.query_qs(request.user).filter(participant_id=participant.pk, status__in=LIVE_STATUSES)
    )
    list_url = (
        reverse("queries:participant_queries", kwargs={"participant_pk": participant.pk}) + "?status=live"
    )
    badge = _badge(queries, list_url) if queries else None
    if badge is not None:
        badge["url"] = list_url
    return {"badge": badge, "scope": "participant"}
