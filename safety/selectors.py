"""Reads of AEs, signatures, SAE notifications and the safety-table rows, always scoped to the user's sites."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from safety import ctcae, incidence
from safety.models import CURRENT_CTCAE_VERSION, AdverseEvent, AeSignature, CtcaeTerm, SaeNotification
from trial import plot_cache
from trial.access import scope_to_user, visible_site_ids
from trial.models import Participant, ParticipantStatus

REPORTING_HOURS = 24


def term_search(query: str, *, version: str = CURRENT_CTCAE_VERSION, limit: int = 25) -> list[CtcaeTerm]:
    """Terms matching the query (synonyms and abbreviations first; see safety.ctcae.search_terms)."""
    return term_search_page(query, version=version, limit=limit).terms


def term_search_page(
    query: str, *, version: str = CURRENT_CTCAE_VERSION, offset: int = 0, limit: int = 25
) -> ctcae.SearchPage:
    """One page of term search results with the total, so nothing is cut off silently."""
    return ctcae.search_terms(CtcaeTerm.objects.filter(version=version), query, offset=offset, limit=limit)


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


@dataclass(frozen=True)
class IncidenceCounts:
    """The safety tables' figures, aggregated in SQL (a constant number of queries at any trial size)."""

    n: int
    any_ae: int
    any_grade3: int
    n_saes: int  # live SAEs and irAEs among `aes` (the listings' page counts)
    n_iraes: int
    soc_counts: list[tuple[str, int, int]]  # (soc, maximum grade, participants)
    term_counts: list[tuple[str, str, int, int]]  # (soc, term, maximum grade, participants)
    aes: QuerySet  # the AEs behind the tables (listings page through it)


def _grade_counts(by_term: QuerySet) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Participants per maximum grade at three levels from one scan of the AEs: per (SOC, term), per SOC and
    overall. `by_term` gives (pid, s, t) rows; a participant's maximum in a SOC is the maximum of its term
    maxima, and overall the maximum of its SOC maxima, so each coarser level is grouped from the finer one.
    Returns ([(soc, term, grade, n)], [(soc, grade, n)], [(grade, n)])."""
    sql, params = by_term.annotate(g=Max("grade")).query.sql_with_params()
    query = f"""
        WITH per_term AS ({sql}),
             per_soc AS (SELECT pid, s, MAX(g) AS g FROM per_term GROUP BY pid, s),
             per_participant AS (SELECT pid, MAX(g) AS g FROM per_soc GROUP BY pid)
        SELECT 3, s, t, g, COUNT(*) FROM per_term GROUP BY s, t, g
        UNION ALL SELECT 2, s, NULL, g, COUNT(*) FROM per_soc GROUP BY s, g
        UNION ALL SELECT 1, NULL, NULL, g, COUNT(*) FROM per_participant GROUP BY g
    """
    terms: list[tuple] = []
    socs: list[tuple] = []
    overall: list[tuple] = []
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for level, soc, term, grade, n in cursor.fetchall():
            if level == 3:
                terms.append((soc, term, grade, n))
            elif level == 2:
                socs.append((soc, grade, n))
            else:
                overall.append((grade, n))
    return terms, socs, overall


def incidence_counts(*, user: Any, filters: dict[str, str]) -> IncidenceCounts:
    population = safety_population(user=user, filters=filters)
    aes = ae_list(user=user, filters={k: filters.get(k, "") for k in ("site", "drug")}).filter(
        participant__in=population
    )
    by_term = aes.order_by().values(pid=F("participant_id"), s=F("term__soc"), t=F("term__term"))

    def compute() -> tuple[int, int, int, list[tuple], list[tuple], list[tuple]]:
        listed = aes.aggregate(
            saes=Count("pk", filter=Q(serious=True)), iraes=Count("pk", filter=Q(immune_related=True))
        )
        return (population.count(), listed["saes"], listed["iraes"], *_grade_counts(by_term))

    # Computed once per change of the AEs or participants (the version is two aggregates; the grade counts
    # group every AE), for the user's visible sites and these filters.
    # (updated_at in the version too: test databases rolled back and rebuilt never meet an earlier entry.)
    version = plot_cache.data_version(
        AdverseEvent.objects.all(), Participant.objects.all(), stamp="updated_at"
    )
    params = [visible_site_ids(user), sorted((k, v) for k, v in filters.items() if v)]  # "" = no filter
    n, n_saes, n_iraes, term_counts, soc_counts, overall_counts = plot_cache.cached_value(
        "safety-incidence-counts-v2", params, version, compute
    )
    overall = dict(overall_counts)
    return IncidenceCounts(
        n=n,
        any_ae=sum(overall.values()),
        any_grade3=sum(n for g, n in overall.items() if g >= 3),
        n_saes=n_saes,
        n_iraes=n_iraes,
        soc_counts=soc_counts,
        term_counts=term_counts,
        aes=aes,
    )


def _pending_saes(user: Any) -> QuerySet[AdverseEvent]:
    """SAEs with a notification not yet sent or whose participant's AEs are not signed, nearest deadline first."""
    unsent = SaeNotification.objects.filter(adverse_event=OuterRef("pk"), sent_at__isnull=True)
    signed = AeSignature.objects.filter(voided=False, participant_id=OuterRef("participant_id"))
    deadline = ExpressionWrapper(
        Coalesce(F("sae_aware_at"), F("created_at")) + Value(dt.timedelta(hours=REPORTING_HOURS)),
        output_field=DateTimeField(),
    )
    return (
        ae_list(user=user)
        .filter(serious=True)
        .annotate(has_unsent=Exists(unsent), is_signed=Exists(signed), deadline=deadline)
        .filter(Q(has_unsent=True) | Q(is_signed=False))
        .prefetch_related("notifications")
        .order_by("deadline", "id")
    )


def _pending_item(ae: AdverseEvent, now: dt.datetime) -> dict[str, Any]:
    notes = list(ae.notifications.all())
    initial = next((n for n in notes if n.kind == "initial"), None)
    reported_at = initial.sent_at if initial else None
    return {
        "ae": ae,
        "unsent": [n for n in notes if not n.sent_at],
        "signed": ae.is_signed,
        "deadline": ae.deadline,
        "reported_at": reported_at,
        "seconds_left": (ae.deadline - now).total_seconds(),
        "clock": clock_text(ae.deadline, now, reported_at),
    }


def sae_pending(*, user: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """SAEs not yet notified (sent) or whose participant's AEs are not signed, with the 24-hour clock;
    filtered and ordered in SQL (the nearest `limit` deadlines when given)."""
    now = timezone.now()
    qs = _pending_saes(user)
    return [_pending_item(ae, now) for ae in (qs[:limit] if limit is not None else qs)]


def sae_pending_count(*, user: Any) -> int:
    return _pending_saes(user).count()


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
