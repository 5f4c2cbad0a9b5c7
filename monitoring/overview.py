"""The data manager's overview: open queries by age and site, SDV progress, overdue visits, missing and
overdue forms per the protocol calendar, locked casebooks
and the worker recomputes that a freeze or lock refused.

A constant number of SQL queries, whatever the number of sites and participants (tests check the count).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from monitoring import expected_forms, selectors
from monitoring.models import LockScope


def open_queries_by_site_and_age(user: Any) -> dict[str, Any]:
    """Per site: live (open or answered) queries in the age buckets of queries.selectors (one query)."""
    from queries import selectors as query_selectors
    from queries.models import LIVE_STATUSES

    now = timezone.now()
    buckets = query_selectors.AGE_BUCKETS
    counts = {}
    for key, (_label, low, high) in buckets.items():
        cond = Q(raised_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            cond &= Q(raised_at__gt=now - dt.timedelta(days=high))
        counts[key] = Count("id", filter=cond)
    rows = (
        query_selectors.query_qs(user)
        .filter(status__in=LIVE_STATUSES)
        .values("site__code")
        .annotate(total=Count("id"), **counts)
        .order_by("site__code")
    )
    return {
        "buckets": [(key, label) for key, (label, _l, _h) in buckets.items()],
        "rows": [
            {"site": r["site__code"], "total": r["total"], "ages": [r[key] for key in buckets]} for r in rows
        ],
    }


def overview(user: Any) -> dict[str, Any]:
    overdue = selectors.overdue_visits(user)
    by_site: dict[str, int] = {}
    for v in overdue:
        by_site[v.participant.site.code] = by_site.get(v.participant.site.code, 0) + 1
    live_locks = list(selectors.lock_list(user=user, live_only=True))
    missing = expected_forms.missing_forms(user)
    return {
        "queries": open_queries_by_site_and_age(user),
        "sdv_sites": selectors.site_progress(user),
        "overdue": overdue[:100],
        "overdue_total": len(overdue),
        "overdue_by_site": sorted(by_site.items()),
        "due": selectors.due_visits(user)[:100],
        "missing_forms_total": len(missing),
        "overdue_forms_total": sum(r.overdue for r in missing),
        "missing_forms_by_site": expected_forms.counts_by_site(missing),
        "casebook_locks": [lock for lock in live_locks if lock.scope == LockScope.PARTICIPANT],
        "other_locks": [lock for lock in live_locks if lock.scope != LockScope.PARTICIPANT],
        "refused_writes": list(selectors.refused_writes(user=user)[:50]),
    }
