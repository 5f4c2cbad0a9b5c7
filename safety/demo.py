"""Demo AEs for the lead's `load_demo`: realistic CTCAE v5.0 events, a few SAEs and irAEs, some signed."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from safety import services
from safety.models import AdverseEvent, CtcaeTerm, SignatureMeaning
from trial.audit import AuditContext
from trial.selectors import reporting_window

# (term, grade, immune_related, rel_anti_pd1, rel_tracer, serious criteria)
COMMON = [
    ("Fatigue", 1, False, "possible", "unlikely", ()),
    ("Fatigue", 2, False, "probable", "unlikely", ()),
    ("Pruritus", 1, True, "probable", "unrelated", ()),
    ("Rash maculo-papular", 2, True, "probable", "unrelated", ()),
    ("Diarrhea", 1, False, "possible", "unrelated", ()),
    ("Nausea", 1, False, "unlikely", "possible", ()),
    ("Hypothyroidism", 2, True, "probable", "unrelated", ()),
    ("Arthralgia", 1, False, "possible", "unrelated", ()),
    ("Injection site reaction", 1, False, "unrelated", "probable", ()),
    ("Headache", 1, False, "unlikely", "possible", ()),
]
SERIOUS = [
    ("Colitis", 3, True, "probable", "unlikely", ("sae_hospitalisation",)),
    ("Pneumonitis", 3, True, "probable", "unrelated", ("sae_hospitalisation",)),
    ("Febrile neutropenia", 3, False, "unlikely", "unrelated", ("sae_hospitalisation",)),
    ("Hepatitis viral", 3, False, "unrelated", "unrelated", ("sae_other_important",)),
]


def _values(term: CtcaeTerm, grade: int, onset: dt.date, end: dt.date | None, spec: tuple) -> dict[str, Any]:
    _name, _g, irae, rel_pd1, rel_tracer, criteria = spec
    values: dict[str, Any] = {
        "term": term,
        "grade": grade,
        "onset_date": onset.isoformat(),
        "end_date": end.isoformat() if end else "",
        "ongoing": end is None,
        "serious": bool(criteria),
        "outcome": "recovered" if end else "not_recovered",
        "action_anti_pd1": "drug_interrupted" if grade >= 3 else "dose_not_changed",
        "immune_related": irae,
        "rel_tracer": rel_tracer,
        "rel_pet": "unrelated",
        "rel_biopsy": "unrelated",
        "rel_anti_pd1": rel_pd1,
        "description": f"Demo: {term.term} grade {grade}.",
    }
    values.update(dict.fromkeys(criteria, True))
    return values


def _safe_onset(participant: Any, rng: random.Random) -> dt.date | None:
    first, last = reporting_window(participant)
    today = timezone.localdate()
    if first is None or first >= today:
        return None
    span = (min(today, last or today) - first).days
    return first + dt.timedelta(days=rng.randint(0, max(span - 1, 0)))


@transaction.atomic
def build_demo(participants: list[Any], users: dict[str, Any], rng: random.Random) -> None:
    """Add 0-3 AEs to most participants (idempotent: skips participants that already have AEs)."""
    terms = {t.term: t for t in CtcaeTerm.objects.filter(version="5.0")}
    for i, participant in enumerate(participants):
        if AdverseEvent.objects.filter(participant=participant).exists():
            continue
        coordinator = users.get(f"coordinator_{participant.site.code}")
        investigator = users.get(f"investigator_{participant.site.code}")
        if coordinator is None:
            continue
        ctx = AuditContext.system(source="import", user=coordinator)
        specs = rng.sample(COMMON, rng.randint(0, 3))
        if i % 6 == 2:
            specs.append(SERIOUS[(i // 6) % len(SERIOUS)])
        for spec in specs:
            onset = _safe_onset(participant, rng)
            if onset is None:
                break
            grade = spec[1]
            today = timezone.localdate()
            end = onset + dt.timedelta(days=rng.randint(3, 20))
            end = end if end <= today and rng.random() < 0.7 else None
            ae = services.ae_create(
                ctx=ctx, participant=participant, values=_values(terms[spec[0]], grade, onset, end, spec)
            )
            if spec[0] == "Fatigue" and end is None and onset < today - dt.timedelta(days=2):
                change = onset + dt.timedelta(days=2)
                services.ae_change_grade(
                    ctx=ctx,
                    ae=ae,
                    values={"grade": grade + 1, "onset_date": change.isoformat()},
                    reason="Demo: worsening",
                )
        if (
            investigator is not None
            and i % 3 == 0
            and AdverseEvent.objects.filter(participant=participant).exists()
        ):
            from trial.demo import DEMO_PASSWORD

            services.aes_sign(
                ctx=AuditContext.system(source="import", user=investigator),
                participant=participant,
                password=DEMO_PASSWORD,
                meaning=SignatureMeaning.COMPLETE,
            )
