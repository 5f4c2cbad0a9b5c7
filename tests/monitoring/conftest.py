"""Monitoring fixtures: the safety fixtures (a dosed participant, AE builder) plus API clients and a lock helper.

People as in tests/conftest.py: Carla coordinates NL01, Ivan investigates there, Mona monitors NL01 and Dana
manages data for every site.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from monitoring import services
from tests import factories
from tests.safety.conftest import ctx, dosed_participant, make_ae, terms  # noqa: F401  (fixtures)


@pytest.fixture
def api_for():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def lock_casebook(data_manager):
    def lock(participant, kind: str = "lock", reason: str = "Casebook cleaned"):
        return services.lock_apply(
            ctx=factories.ctx_for(data_manager),
            scope="participant",
            kind=kind,
            object_id=participant.pk,
            reason=reason,
        )

    return lock
