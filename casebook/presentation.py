"""How casebook records are shown: labels instead of codes, one date format, site-local times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.urls import reverse

from casebook import selectors
from casebook.registry import KINDS, Kind
from trial import access
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


def participant_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    """PARTICIPANT_SECTIONS entry: each casebook form with its record count and a link."""
    counts = []
    for kind in KINDS.values():
        n = selectors.scoped_records(
            kind.model, user=request.user, participant=participant, include_voided=False
        ).count()
        counts.append(
            {
                "kind": kind,
                "count": n,
                "url": reverse("casebook:record_list", args=[participant.pk, kind.slug]),
            }
        )
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
