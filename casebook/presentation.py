"""How casebook records are shown: labels instead of codes, one date format, site-local times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from casebook import selectors
from casebook.registry import KINDS, Kind
from trial import access
from trial.models import Participant
from trial.site_time import format_site_time


def cell(record: Any, name: str, site: Any) -> str:
    field = record._meta.get_field(name)
    value = getattr(record, name)
    if value is None or value == "":
        return "—"
    if getattr(field, "choices", None):
        return str(getattr(record, f"get_{name}_display")())
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        return format_site_time(value, site)
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def headers(kind: Kind) -> list[str]:
    labels = []
    for name in kind.columns:
        label = str(kind.model._meta.get_field(name).verbose_name)
        labels.append(label[:1].upper() + label[1:])
    return labels


def rows(
    kind: Kind, records: list[Any], participant: Any, flagged: set[int] | None = None
) -> list[dict[str, Any]]:
    return [
        {
            "record": r,
            "cells": [cell(r, name, participant.site) for name in kind.columns],
            "flag": bool(flagged and r.pk in flagged),
        }
        for r in records
    ]


def _record_counts(user: Any, participant: Any, kinds: list[Any]) -> list[int]:
    """Live records of each kind for the participant, in one query (a COUNT subquery per kind)."""
    if not kinds:
        return []
    subqueries = {
        f"n{i}": Coalesce(
            Subquery(
                selectors.scoped_records(kind.model, user=user, participant=participant, include_voided=False)
                .order_by()
                .values("participant")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            0,
        )
        for i, kind in enumerate(kinds)
    }
    row = Participant.objects.filter(pk=participant.pk).annotate(**subqueries).values_list(*subqueries)
    return list(row.get())


def participant_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    """PARTICIPANT_SECTIONS entry: each casebook form with its record count and a link."""
    kinds = list(KINDS.values())
    n_by_kind = _record_counts(request.user, participant, kinds)
    counts = [
        {
            "kind": kind,
            "count": n,
            "url": reverse("casebook:record_list", args=[participant.pk, kind.slug]),
        }
        for kind, n in zip(kinds, n_by_kind, strict=True)
    ]
    flagged = selectors.labs_grade2_without_ae(participant, user=request.user)
    return [
        {
            "title": "Casebook",
            "template": "casebook/_participant_section.html",
            "context": {
                "participant": participant,
                "kinds": counts,
                "flagged_labs": len(flagged),
                "can_add": access.can(request.user, "enrolment", participant.site_id),
            },
        }
    ]
