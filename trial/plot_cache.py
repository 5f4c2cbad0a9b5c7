"""Rendered plots cached by the version of the data behind them (issue 17): drawn once per change, not per view.

The version of a queryset is (row count, sum of `version`) for clinical records — every audited update raises
a record's `version` by one, every create adds a row, so the pair changes with every committed change whatever
the commit order — and (row count, highest id) for other tables (results rewritten only by new rows). The
bytes are stored in the default cache (Redis, trial/cache.py) under a hash of the plot name, its parameters
(the user's visible sites, the filters) and those versions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, QuerySet, Sum

TIMEOUT_SECONDS = 7 * 24 * 3600


def data_version(*querysets: QuerySet, stamp: str = "") -> str:
    """One aggregate query per queryset; `stamp` names a timestamp column rewritten with each change of a row
    of a table without `version` (e.g. computed_at), added to the figures."""
    parts = []
    for qs in querysets:
        versioned = any(f.attname == "version" for f in qs.model._meta.concrete_fields)
        figures = {"n": Count("pk"), "v": Sum("version") if versioned else Max("pk")}
        if stamp:
            figures["t"] = Max(stamp)
        agg = qs.order_by().aggregate(**figures)
        parts.append(f"{qs.model._meta.label}:{agg['n']}:{agg['v'] or 0}:{agg.get('t') or ''}")
    return "|".join(parts)


def cache_key(name: str, params: Iterable[Any], version: str) -> str:
    raw = json.dumps([name, list(params), version], sort_keys=True, default=str)
    return "plot:" + hashlib.sha256(raw.encode()).hexdigest()


def cached_value(name: str, params: Iterable[Any], version: str, compute: Callable[[], Any]) -> Any:
    """Any picklable value (e.g. the rows behind a plot), cached like a rendering."""
    return cached_bytes(name, params, version, compute)


def cached_bytes(name: str, params: Iterable[Any], version: str, render: Callable[[], Any]) -> Any:
    """The cached rendering for this name, parameters and data version, else render and store it."""
    key = cache_key(name, params, version)
    hit = cache.get(key)
    if hit is not None:
        return hit
    data = render()
    cache.set(key, data, TIMEOUT_SECONDS)
    return data


def participant_version(participant_id: int) -> str:
    """Changes with every committed audited write about the participant: (entries, highest chain position)."""
    from trial.models import AuditEntry

    agg = AuditEntry.objects.filter(participant_id=participant_id).aggregate(n=Count("pk"), seq=Max("seq"))
    return f"participant:{participant_id}:{agg['n']}:{agg['seq'] or 0}"
