"""Reads of AEs, signatures, SAE notifications and the safety-table rows, always scoped to the user's sites."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from safety import incidence
from safety.models import CURRENT_CTCAE_VERSION, AdverseEvent, AeSignature, CtcaeTerm, SaeNotification
from trial.access import scope_to_user
from trial.models import Participant, ParticipantStatus

REPORTING_HOURS = 24


def term_search(query: str, *, version: str = CURRENT_CTCAE_VERSION, limit: int = 25) -> list[CtcaeTerm]:
    """Terms matching the query in term, SOC or MedDRA code; terms starting with it first."""
    q = (query or "").strip()
    if len(q) < 2:
        return []
    qs = CtcaeTerm.objects.filter(version=version)
    cond = Q(term__icontains=q) | Q(soc__icontains=q)
    if q.isdigit():
        cond |= Q(meddra_code__startswith=q)
    matches = list(qs.filter(cond)[:400])
    low = q.lower()

    def rank(t: CtcaeTerm) -> tuple:
        name = t.term.lower()
        return (
            0 if name.startswith(low) else 1 if low in name else 2 if str(t.meddra_code).startswith(q) else 3,
            name,
        )

    return sorted(matches, key=rank)[:limit]


def ae_list(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[AdverseEvent]:
    filters = filters or {}
    qs = scope_to_user(AdverseEvent.objects.select_related("participant", "participant__site", "term"), user)
    if filters.get("site"):
        qs = qs.filter(participant__site__code=filters["site"])
    if filters.get("drug"):
        qs = qs.filter(participant__planned_anti_pd1=filters["drug"])
    if filters.get("serious"):
        qs = qs.filter(serious=True)
    if filters.get("immune_related"):
        qs = qs.filter(immune_related=True)
    if filters.get("q"):
        q = filters["q"]
        qs = qs.filter(
            Q(term__term__icontains=q) | Q(participant__study_id__icontains=q) | Q(verbatim_term__icontains=q)
        )
    if not filters.get("include_voided"):
        qs = qs.filter(voided=False)
    return qs.order_by("participant__study_id", "onset_date", "id")


def participant_aes(participant: Participant) -> QuerySet[AdverseEvent]:
    return participant.adverse_events.select_related("term").order_by("onset_date", "id")


def signatures_of(participant: Participant) -> QuerySet[AeSignature]:
    return participant.ae_signatures.select_related("signer").order_by("-signed_at", "-id")


def safety_population(*, user: Any, filters: dict[str, str]) -> QuerySet[Participant]:
    """Denominator: enrolled (not screening or screen failure), non-voided participants, with the filters."""
    qs = scope_to_user(Participant.objects.filter(voided=False), user, site_field="site").exclude(
        status__in=[ParticipantStatus.SCREENING, ParticipantStatus.SCREEN_FAILURE]
    )
    if filters.get("site"):
        qs = qs.filter(site__code=filters["site"])
    if filters.get("drug"):
        qs = qs.filter(planned_anti_pd1=filters["drug"])
    return qs


def table_rows(*, user: Any, filters: dict[str, str]) -> tuple[int, list[incidence.AeRow], QuerySet]:
    """(N, incidence rows, the AEs) for the safety tables."""
    population = safety_population(user=user, filters=filters)
    aes = ae_list(user=user, filters={k: filters.get(k, "") for k in ("site", "drug")}).filter(
        participant__in=population
    )
    rows = [incidence.AeRow(ae.participant_id, ae.term.soc, ae.term.term, ae.grade) for ae in aes]
    return population.count(), rows, aes


def sae_pending(*, user: Any) -> list[dict[str, Any]]:
    """SAEs not yet notified (sent) or whose participant's AEs are not signed, with the 24-hour clock."""
    now = timezone.now()
    saes = ae_list(user=user).filter(serious=True).prefetch_related("notifications")
    signed = set(
        scope_to_user(AeSignature.objects.filter(voided=False), user).values_list("participant_id", flat=True)
    )
    items = []
    for ae in saes:
        notes = list(ae.notifications.all())
        unsent = [n for n in notes if not n.sent_at]
        initial = next((n for n in notes if n.kind == "initial"), None)
        is_signed = ae.participant_id in signed
        if not unsent and is_signed:
            continue
        deadline = (ae.sae_aware_at or ae.created_at) + dt.timedelta(hours=REPORTING_HOURS)
        reported_at = initial.sent_at if initial else None
        items.append(
            {
                "ae": ae,
                "unsent": unsent,
                "signed": is_signed,
                "deadline": deadline,
                "reported_at": reported_at,
                "seconds_left": (deadline - now).total_seconds(),
                "clock": clock_text(deadline, now, reported_at),
            }
        )
    return sorted(items, key=lambda i: i["deadline"])


def clock_text(deadline: dt.datetime, now: dt.datetime, reported_at: dt.datetime | None) -> str:
    if reported_at:
        late = reported_at - deadline
        return "reported in time" if late.total_seconds() <= 0 else f"reported {_hm(late)} late"
    left = deadline - now
    return f"{_hm(left)} left" if left.total_seconds() > 0 else f"overdue by {_hm(-left)}"


def _hm(delta: dt.timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def notification_list(*, user: Any) -> QuerySet[SaeNotification]:
    return scope_to_user(SaeNotification.objects.all(), user, site_field="adverse_event__participant__site")
