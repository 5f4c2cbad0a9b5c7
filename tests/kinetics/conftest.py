from __future__ import annotations

import pytest

from tests.kinetics import builders


@pytest.fixture
def pk_trial(db):
    return builders.build()
