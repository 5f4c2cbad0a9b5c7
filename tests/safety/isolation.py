"""Builders for the lead's site-isolation walk over participant-scoped URL kwargs of the safety app."""

from __future__ import annotations

from typing import Any


def _ae(participant: Any, user: Any) -> Any:
    from safety import services
    from safety.models import AdverseEvent, CtcaeTerm
    from tests import factories
    from tests.safety.conftest import base_values

    existing = AdverseEvent.objects.filter(participant=participant).first()
    if existing:
        return existing
    term = CtcaeTerm.objects.get(version="5.0", term="Febrile neutropenia")
    # No tracer dose here (the trial walk records one itself): the onset is flagged as outside the window.
    values = base_values(
        term,
        grade=3,
        serious=True,
        sae_hospitalisation=True,
        out_of_window_reason="Isolation walk: before the first study procedure",
    )
    return services.ae_create(ctx=factories.ctx_for(user), participant=participant, values=values)


def _notification(participant: Any, user: Any) -> int:
    return _ae(participant, user).notifications.first().pk


KWARG_BUILDERS = {
    "ae_pk": lambda participant, user: _ae(participant, user).pk,
    "notification_pk": _notification,
}
READ_ROLE_POSTS_ALLOWED: set[str] = set()
