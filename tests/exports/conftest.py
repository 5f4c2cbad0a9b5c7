"""Fixtures of the export tests: the official ODM 1.3.2 schema with and without the cd8 extension, and an AE
builder on a participant dosed inside the AE reporting window."""

from __future__ import annotations

import shutil

import pytest
from lxml import etree

from tests import factories
from tests.exports.helpers import offline_schema
from tests.exports.odm_monitoring_support import EXTENSION, OFFICIAL
from tests.safety.conftest import base_values


@pytest.fixture(scope="module")
def odm_schemas(tmp_path_factory) -> tuple[etree.XMLSchema, etree.XMLSchema]:
    """(official ODM 1.3.2, official + cd8 extension placed next to the unchanged official files)."""
    folder = tmp_path_factory.mktemp("odm")
    for source in [*OFFICIAL.glob("*.xsd"), *EXTENSION.glob("*.xsd")]:
        shutil.copy(source, folder / source.name)
    return offline_schema(OFFICIAL / "ODM1-3-2.xsd"), offline_schema(folder / "cd8-odm-extension.xsd")


@pytest.fixture
def make_ae(participant, coordinator):
    """An AE builder on a participant dosed inside the AE reporting window (as tests/safety/conftest.py)."""
    from safety import services as safety_services
    from safety.models import CtcaeTerm

    factories.record_tracer_dose(coordinator, participant)

    def make(term: str = "Fatigue", **overrides):
        values = base_values(CtcaeTerm.objects.get(version="5.0", term=term), **overrides)
        return safety_services.ae_create(
            ctx=factories.ctx_for(coordinator), participant=participant, values=values
        )

    return make
