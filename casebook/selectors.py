"""Reads of casebook records, scoped to the user's sites (trial.access)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from casebook.models import BodyMeasurement, LabResult, ScreeningLogEntry
from trial.access import scope_to_user
from trial.models import Participant


def scoped_records(
    model: type, *, user: Any, participant: Participant | None = None, include_voided: bool = True
) -> QuerySet:
    site_field = "site" if model is ScreeningLogEntry else "participant__site"
    qs = scope_to_user(model.objects.all(), user, site_field=site_field)
    if participant is not None:
        qs = qs.filter(participant=participant)
    if not include_voided:
        qs = qs.filter(voided=False)
    return qs


def record_get(model: type, *, user: Any, pk: int) -> Any:
    """The record if the user may see it, else 404."""
    return get_object_or_404(scoped_records(model, user=user), pk=pk)


@dataclass(frozen=True)
class NearestWeight:
    weight_kg: Decimal
    measured_on: dt.date
    days_away: int
    record_id: int


def nearest_weight(participant: Participant, at: dt.date | dt.datetime) -> NearestWeight | None:
    """The participant's recorded weight nearest in time to `at` (ties: the earlier one); None if none."""
    day = at.date() if isinstance(at, dt.datetime) else at
    rows = BodyMeasurement.objects.filter(participant=participant, voided=False).values_list(
        "id", "measured_on", "weight_kg"
    )
    best = None
    for pk, measured_on, weight in rows:
        key = (abs((measured_on - day).days), measured_on > day, measured_on)
        if best is None or key < best[0]:
            best = (key, NearestWeight(weight, measured_on, key[0], pk))
    return best[1] if best else None


def _ae_covers(ae: Any, lab: LabResult) -> bool:
    """An AE of the lab's CTCAE term whose dates reach the collection day (partial dates read generously)."""
    if ae.term.term != lab.ctcae_term:
        return False
    day = lab.collected_on.isoformat()
    onset = ae.onset_date or ""
    if onset and onset > day[: len(onset)]:
        return False
    if ae.ongoing or not ae.end_date:
        return True
    return ae.end_date >= day[: len(ae.end_date)]


def labs_grade2_without_ae(participant: Participant | None = None, *, user: Any = None) -> list[LabResult]:
    """Lab results of CTCAE grade >= 2 with no adverse event of the same CTCAE term covering the collection day."""
    from safety.models import AdverseEvent

    labs = LabResult.objects.filter(voided=False, ctcae_grade__gte=2).select_related("participant")
    if participant is not None:
        labs = labs.filter(participant=participant)
    if user is not None:
        labs = scope_to_user(labs, user)
    labs = list(labs.order_by("collected_on", "id"))
    aes: dict[int, list[Any]] = {}
    ids = {lab.participant_id for lab in labs}
    for ae in AdverseEvent.objects.filter(participant_id__in=ids, voided=False).select_related("term"):
        aes.setdefault(ae.participant_id, []).append(ae)
    return [lab for lab in labs if not any(_ae_covers(ae, lab) for ae in aes.get(lab.participant_id, []))]


def screening_flow(*, user: Any) -> list[dict[str, Any]]:
    """Per visible site: screen failures (by criterion) and enrolled participants, for a CONSORT-style flow."""
    from trial.access import sites_visible_to

    rows = []
    for site in sites_visible_to(user).order_by("code"):
        failures = ScreeningLogEntry.objects.filter(site=site, voided=False)
        by_criterion: Counter[str] = Counter()
        other = 0
        for entry in failures:
            by_criterion.update(entry.failed_criteria)
            other += bool(entry.other_reason)
        enrolled = (
            Participant.objects.filter(site=site, voided=False).exclude(status="screen_failure").count()
        )
        n_fail = failures.count()
        rows.append(
            {
                "site": site,
                "screened": n_fail + enrolled,
                "failed": n_fail,
                "enrolled": enrolled,
                "by_criterion": sorted(by_criterion.items()),
                "other_reason": other,
            }
        )
    return rows
