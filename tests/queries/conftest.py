"""Queries fixtures: a dosed NL01 participant with one grade-1 Fatigue AE, and a guard that locks on demand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import factories
from tests.safety.conftest import base_values
from trial import write_gate


@pytest.fixture
def dosed(participant, coordinator):
    factories.record_tracer_dose(coordinator, participant)
    return participant


@pytest.fixture
def ae(dosed, coordinator):
    from safety import services
    from safety.models import CtcaeTerm

    term = CtcaeTerm.objects.get(version="5.0", term="Fatigue")
    return services.ae_create(
        ctx=factories.ctx_for(coordinator), participant=dosed, values=base_values(term, grade=1)
    )


@pytest.fixture
def lock_everything() -> Iterator[list[Any]]:
    """A write-gate guard refusing every update while `locked` holds True (as the lock guard does)."""
    locked: list[Any] = []

    def guard(instance, *, action, changes) -> None:
        if locked and action == "update":
            raise write_gate.RecordLocked(
                f"{instance} is locked: the casebook is locked for the database lock."
            )

    write_gate.register_guard(guard)
    try:
        yield locked
    finally:
        write_gate._guards.remove(guard)
