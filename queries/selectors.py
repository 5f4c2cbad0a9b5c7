"""Reads of queries, always scoped to the user's sites (a site user sees only their sites' queries)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from queries.models import LIVE_STATUSES, Query, QueryMessage, QueryOrigin, QueryStatus
from trial.access import scope_to_user, sites_visible_to

AGE_BUCKETS = {
    "lt7": ("under 7 days", 0, 7),
    "7to30": ("7 to 30 days", 7, 31),
    "gt30": ("over 30 days", 31, None),
}
FILTER_KEYS = (
    "status",
    "participant",
    "site",
    "resource",
    "origin",
    "rule",
    "raised_by",
    "age",
    "object_id",
    "field",
)


def query_qs(user: Any) -> QuerySet[Query]:
    return scope_to_user(Query.objects.select_related("participant", "site"), user, site_field="site")


def clean_filters(params: Any) -> dict[str, str]:
    """The known filters, validated (ValidationError naming the bad parameter)."""
    values = {k: str(params.get(k, "") or "").strip() for k in FILTER_KEYS}
    errors: dict[str, str] = {}
    if values["status"] and values["status"] not in {*QueryStatus.values, "live"}:
        errors["status"] = f"One of: live, {', '.join(QueryStatus.values)}."
    if values["origin"] and values["origin"] not in QueryOrigin.values:
        errors["origin"] = f"One of: {', '.join(QueryOrigin.values)}."
    if values["age"] and values["age"] not in AGE_BUCKETS:
        errors["age"] = f"One of: {', '.join(AGE_BUCKETS)}."
    if values["object_id"] and not (values["object_id"].isdigit() and len(values["object_id"]) < 19):
        errors["object_id"] = "An integer id."
    if errors:
        raise ValidationError(errors)
    return values


def query_list(*, user: Any, filters: dict[str, str]) -> QuerySet[Query]:
    qs = query_qs(user)
    if filters.get("status") == "live":
        qs = qs.filter(status__in=LIVE_STATUSES)
    elif filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("participant"):
        qs = qs.filter(participant__study_id=filters["participant"])
    if filters.get("site"):
        qs = qs.filter(site__code=filters["site"])
    if filters.get("resource"):
        qs = qs.filter(resource=filters["resource"])
    if filters.get("object_id"):
        qs = qs.filter(object_id=int(filters["object_id"]))
    if filters.get("field"):
        qs = qs.filter(field=filters["field"])
    if filters.get("origin"):
        qs = qs.filter(origin=filters["origin"])
    if filters.get("rule"):
        qs = qs.filter(rule_code=filters["rule"])
    raised_by = filters.get("raised_by")
    if raised_by == "system":
        qs = qs.filter(raised_by__isnull=True)
    elif raised_by:
        qs = qs.filter(raised_by__username=raised_by)
    if filters.get("age"):
        _, low, high = AGE_BUCKETS[filters["age"]]
        now = timezone.now()
        qs = qs.filter(raised_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            qs = qs.filter(raised_at__gt=now - dt.timedelta(days=high))
    return qs


def query_get(*, user: Any, pk: Any) -> Query:
    """The query with its thread, if the user may see it; else 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such query.") from None
    if not 0 < pk < 2**63:
        raise Http404("No such query.")
    messages = Prefetch("messages", queryset=QueryMessage.objects.order_by("at", "id"))
    query = query_qs(user).prefetch_related(messages).filter(pk=pk).first()
    if query is None:
        raise Http404("No such query.")
    return query


def live_for_record(*, user: Any, resource: str, object_id: int) -> list[Query]:
    return list(
        query_qs(user)
        .filter(resource=resource, object_id=object_id, status__in=LIVE_STATUSES)
        .order_by("raised_at", "id")
    )


def raisers(*, user: Any) -> list[tuple[str, str]]:
    """(username, printed name) of people who raised the visible queries, for the filter."""
    rows = (
        query_qs(user)
        .filter(raised_by__isnull=False)
        .values_list("raised_by__username", "raised_by_display")
        .distinct()
        .order_by("raised_by__username")
    )
    seen: dict[str, str] = {}
    for username, display in rows:
        seen.setdefault(username, display)
    return [("system", "system (edit checks)"), *seen.items()]


def site_summary(*, user: Any) -> list[dict[str, Any]]:
    """Per visible site: open, answered and closed counts and the oldest open query's age, in one query."""
    now = timezone.now()
    sites = sites_visible_to(user).annotate(
        q_open=Count("queries", filter=Q(queries__status=QueryStatus.OPEN)),
        q_answered=Count("queries", filter=Q(queries__status=QueryStatus.ANSWERED)),
        q_closed=Count("queries", filter=Q(queries__status=QueryStatus.CLOSED)),
        q_oldest=Min("queries__raised_at", filter=Q(queries__status=QueryStatus.OPEN)),
    )
    return [
        {
            "site": s,
            "open": s.q_open,
            "answered": s.q_answered,
            "closed": s.q_closed,
            "oldest_open_days": (now - s.q_oldest).days if s.q_oldest else None,
        }
        for s in sites.order_by("code")
    ]
