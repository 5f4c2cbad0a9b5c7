"""Reads of trial data, always scoped to the user's sites."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from trial.access import scope_to_user, sites_visible_to
from trial.models import AntiPD1Dose, AuditEntry, Participant, TracerDose, Visit, VisitStatus
from trial.site_time import site_date
from trial.sql import PlusDays


def participant_list(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[Participant]:
    qs = scope_to_user(Participant.objects.select_related("site"), user, site_field="site")
    filters = filters or {}
    if filters.get("site"):
        qs = qs.filter(site__code=filters["site"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("drug"):
        qs = qs.filter(planned_anti_pd1=filters["drug"])
    if filters.get("tumour_type"):
        qs = qs.filter(tumour_type__icontains=filters["tumour_type"])
    if filters.get("q"):
        qs = qs.filter(study_id__icontains=filters["q"])
    if not filters.get("include_voided"):
        qs = qs.filter(voided=False)
    return qs.order_by("study_id")


def participant_get(*, user: Any, pk: int) -> Participant:
    """The participant if the user may see it, else 404 (never 403: existence is not disclosed)."""
    qs = scope_to_user(Participant.objects.select_related("site"), user, site_field="site")
    return get_object_or_404(qs, pk=pk)


def scoped_get(
    model: Any, *, user: Any, pk: int, site_field: str = "participant__site", **filters: Any
) -> Any:
    qs = scope_to_user(model.objects.all(), user, site_field=site_field)
    try:
        return get_object_or_404(qs, pk=pk, **filters)
    except (TypeError, ValueError, DjangoValidationError) as exc:  # a pk that is not an id: no such object
        raise Http404(f"No {model._meta.verbose_name} {pk!r}.") from exc


def visit_list(*, user: Any) -> QuerySet[Visit]:
    return scope_to_user(Visit.objects.select_related("participant", "participant__site"), user)


def tracer_dose_list(*, user: Any) -> QuerySet[TracerDose]:
    return scope_to_user(TracerDose.objects.select_related("participant", "visit"), user)


def anti_pd1_dose_list(*, user: Any) -> QuerySet[AntiPD1Dose]:
    return scope_to_user(AntiPD1Dose.objects.select_related("participant"), user)


def participant_timeline(participant: Participant) -> list[dict[str, Any]]:
    """Visits and doses in date order; other apps add their items through TIMELINE_PROVIDERS."""
    items: list[dict[str, Any]] = []
    for v in participant.visits.all():
        items.append({"date": v.actual_date or v.planned_date, "kind": "visit", "object": v})
    for d in participant.tracer_doses.all():
        items.append(
            {"date": site_date(d.administered_at, participant.site), "kind": "tracer_dose", "object": d}
        )
    for d in participant.anti_pd1_doses.all():
        items.append(
            {"date": site_date(d.administered_at, participant.site), "kind": "anti_pd1_dose", "object": d}
        )
    for provider in TIMELINE_PROVIDERS:
        items.extend(provider(participant))
    return sorted(items, key=lambda i: (i["date"], i["kind"]))


# Other apps append callables participant -> list[{"date", "kind", "object", "label", "url"}].
TIMELINE_PROVIDERS: list[Any] = []


def participant_history(participant: Participant) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(participant_id=participant.pk).select_related("user").order_by("-id")


def reporting_window(participant: Participant) -> tuple[dt.date | None, dt.date | None]:
    """AE reporting window: first study procedure to 100 days after the last study procedure."""
    procedures = participant.visits.filter(voided=False, is_study_procedure=True).exclude(
        status=VisitStatus.MISSED
    )
    done = [v.actual_date for v in procedures if v.actual_date]
    planned = [v.actual_date or v.planned_date for v in procedures]
    first = min(done) if done else None
    doses = [
        site_date(d.administered_at, participant.site) for d in participant.tracer_doses.filter(voided=False)
    ]
    if doses:
        first = min([first, *doses]) if first else min(doses)
    last = max(planned) if planned else None
    return first, (last + dt.timedelta(days=100)) if last else None


DASHBOARD_VISITS = 20  # per site and list


def _first_per_site(visits: QuerySet[Visit], order: list[str]) -> dict[int, list[Visit]]:
    """The first DASHBOARD_VISITS visits of each site in one query (row_number() over the site)."""
    ranked = visits.annotate(
        site_rank=Window(RowNumber(), partition_by=[F("participant__site_id")], order_by=[*order, "id"])
    ).filter(site_rank__lte=DASHBOARD_VISITS)
    per_site: dict[int, list[Visit]] = {}
    for visit in ranked.select_related("participant").order_by(*order, "id"):
        per_site.setdefault(visit.participant.site_id, []).append(visit)
    return per_site


def dashboard_summary(*, user: Any) -> list[dict[str, Any]]:
    """Per visible site: enrolled, upcoming visits (14 days) and overdue visits (window ended), with counts;
    four queries whatever the number of sites."""
    today = timezone.localdate()
    soon = today + dt.timedelta(days=14)
    planned = scope_to_user(
        Visit.objects.filter(voided=False, participant__voided=False, status=VisitStatus.PLANNED), user
    ).annotate(window_end_date=PlusDays(F("planned_date"), F("window_after")))
    upcoming = _first_per_site(
        planned.filter(planned_date__gte=today, planned_date__lte=soon), ["planned_date"]
    )
    overdue_visits = planned.filter(planned_date__lt=today, window_end_date__lt=today)
    overdue = _first_per_site(overdue_visits, ["planned_date"])
    overdue_counts = dict(
        overdue_visits.order_by()
        .values_list("participant__site_id")
        .annotate(n=Count("id"))
        .values_list("participant__site_id", "n")
    )
    rows = []
    for site in sites_visible_to(user).annotate(
        enrolled=Count(
            "participants",
            filter=Q(participants__voided=False)
            & ~Q(participants__status__in=["screening", "screen_failure"]),
        )
    ):
        rows.append(
            {
                "site": site,
                "enrolled": site.enrolled,
                "upcoming": upcoming.get(site.pk, []),
                "overdue": overdue.get(site.pk, []),
                "overdue_count": overdue_counts.get(site.pk, 0),
            }
        )
    return rows
