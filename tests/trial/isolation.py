"""Builders of participant-scoped URL kwargs for the site-isolation walk (see test_site_isolation.py)."""

from __future__ import annotations

from tests import factories

KWARG_BUILDERS = {
    "participant_pk": lambda participant, user: participant.pk,
    "visit_pk": lambda participant, user: factories.visit(participant, "BL_MRI").pk,
}

# URL name -> kwargs builder, for patterns whose kwargs are not plain object pks.
PATTERN_BUILDERS = {
    "record_void": lambda participant, user: {
        "app_label": "trial",
        "model_name": "tracerdose",
        "object_pk": (
            participant.tracer_doses.filter(visit__code="BL_TRACER").first()
            or factories.record_tracer_dose(user, participant)
        ).pk,
    },
}

READ_ROLE_POSTS_ALLOWED: set[str] = set()
