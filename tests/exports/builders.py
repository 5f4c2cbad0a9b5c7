"""Test data across apps for export tests (through each app's services)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tests import factories


def days_ago(n: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=n)).isoformat()


def ae_values(term: Any, **overrides: Any) -> dict[str, Any]:
    values = {
        "term": term,
        "grade": term.defined_grades[0],
        "verbatim_term": "",
        "onset_date": days_ago(10),
        "end_date": days_ago(5),
        "ongoing": False,
        "serious": False,
        "outcome": "recovered",
        "death_date": None,
        "action_anti_pd1": "dose_not_changed",
        "immune_related": False,
        "rel_tracer": "unrelated",
        "rel_pet": "unrelated",
        "rel_biopsy": "unrelated",
        "rel_anti_pd1": "possible",
        "description": "",
        "out_of_window_reason": "",
    }
    values.update(overrides)
    return values


def make_ae(user: Any, participant: Any, term_name: str = "Fatigue", **overrides: Any) -> Any:
    from safety import services
    from safety.models import CtcaeTerm

    term = CtcaeTerm.objects.get(version="5.0", term=term_name)
    return services.ae_create(
        ctx=factories.ctx_for(user), participant=participant, values=ae_values(term, **overrides)
    )


def trial_with_aes(coordinator: Any, site: Any) -> dict[str, Any]:
    """Two dosed participants, AEs (one serious and immune-related, one with a partial onset date), a voided visit."""
    p1 = factories.enrol(coordinator, site)
    p2 = factories.enrol(coordinator, site, sex="M", drug="cetrelimab")
    d1 = factories.record_tracer_dose(coordinator, p1)
    factories.record_tracer_dose(coordinator, p2, mbq="38.5")
    ae1 = make_ae(coordinator, p1, "Fatigue")
    month = days_ago(10)[:7]
    ae2 = make_ae(
        coordinator,
        p2,
        "Pneumonitis",
        serious=True,
        sae_hospitalisation=True,
        immune_related=True,
        rel_anti_pd1="probable",
        rel_tracer="unlikely",
        onset_date=month,
        end_date="",
        ongoing=True,
        outcome="not_recovered",
        grade=3,
    )
    from trial import services

    ctx = factories.ctx_for(coordinator)
    visit = p1.visits.order_by("id")[6]
    services.visit_replan(
        ctx=ctx, visit=visit, planned_date=visit.planned_date + dt.timedelta(days=1), reason="patient asked"
    )
    services.record_void(ctx=ctx, instance=p1.visits.order_by("id")[7], reason="duplicate")
    return {"participants": [p1, p2], "dose": d1, "aes": [ae1, ae2]}
