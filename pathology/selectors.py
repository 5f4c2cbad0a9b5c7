"""Reads of biopsies and IHC scores, scoped to the user's sites."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from pathology.models import Biopsy, IhcScore, MarkerDefinition
from trial.access import scope_to_user


def biopsy_list(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[Biopsy]:
    qs = scope_to_user(
        Biopsy.objects.select_related("participant", "participant__site", "lesion"), user
    ).filter(voided=False, participant__voided=False)
    filters = filters or {}
    if filters.get("site"):
        qs = qs.filter(participant__site__code=filters["site"])
    if filters.get("period"):
        qs = qs.filter(period=filters["period"])
    if filters.get("q"):
        qs = qs.filter(participant__study_id__icontains=filters["q"]) | qs.filter(
            sample_id__icontains=filters["q"]
        )
    return qs.order_by("participant__study_id", "biopsy_date", "id")


def ihc_score_list(*, user: Any, include_voided: bool = False) -> QuerySet[IhcScore]:
    qs = scope_to_user(
        IhcScore.objects.select_related("biopsy", "marker", "scorer", "participant", "participant__site"),
        user,
    )
    if not include_voided:
        qs = qs.filter(voided=False, biopsy__voided=False)
    return qs.order_by("id")


def scores_for_biopsy(biopsy: Biopsy) -> list[dict[str, Any]]:
    """Scores grouped by marker: [{"marker", "scores": [first, second]}], second scorer shown beside the first."""
    rows: dict[int, dict[str, Any]] = {}
    for s in biopsy.ihc_scores.select_related("marker", "scorer").order_by(
        "marker__order", "scorer_number", "id"
    ):
        rows.setdefault(s.marker_id, {"marker": s.marker, "scores": []})["scores"].append(s)
    return list(rows.values())


def active_markers() -> QuerySet[MarkerDefinition]:
    return MarkerDefinition.objects.filter(active=True).order_by("order", "code")


def participant_biopsies(participant: Any) -> QuerySet[Biopsy]:
    return (
        participant.biopsies.select_related("lesion")
        .prefetch_related("ihc_scores__marker")
        .order_by("biopsy_date", "id")
    )


CONTINUOUS_FIELDS = (
    "density_intratumoural",
    "density_stromal",
    "percent_positive",
    "tps",
    "cps",
    "h_score",
    "value",
)


def agreement_rows(*, user: Any) -> list[dict[str, Any]]:
    """Per marker and value: agreement of the first and second pathologist on the same biopsies."""
    from pathology import agreement
    from pathology.models import ImmunePhenotype, SemiQuant
    from pathology.validation import FIELD_LABELS

    scores = scope_to_user(IhcScore.objects.filter(voided=False, biopsy__voided=False), user).select_related(
        "marker"
    )
    by_key: dict[tuple[str, int], dict[int, IhcScore]] = {}
    for s in scores:
        by_key.setdefault((s.marker.code, s.biopsy_id), {})[s.scorer_number] = s
    rows = []
    for marker in MarkerDefinition.objects.order_by("order", "code"):
        pairs = [(v[1], v[2]) for (code, _), v in by_key.items() if code == marker.code and 1 in v and 2 in v]
        if not pairs:
            continue
        for name in marker.fields:
            both = [(getattr(a, name), getattr(b, name)) for a, b in pairs]
            both = [(x, y) for x, y in both if x not in (None, "") and y not in (None, "")]
            if not both:
                continue
            if name == "semi_quant":
                result = agreement.ordinal(both, SemiQuant.values)
            elif name == "immune_phenotype":
                result = agreement.ordinal(both, ImmunePhenotype.values, nominal=True)
            elif name == "value_category":
                result = agreement.ordinal(both, sorted({c for p in both for c in p}), nominal=True)
            elif name in CONTINUOUS_FIELDS:
                result = agreement.continuous([(float(x), float(y)) for x, y in both])
            else:
                continue
            rows.append({"marker": marker.code, "value": FIELD_LABELS.get(name, name), "result": result})
    return rows
