"""A consent carries the record version like every clinical record; its ICF version is `form_version`."""

from __future__ import annotations

import pytest

from tests.factories import ctx_for
from trial.audit import audited_void

pytestmark = pytest.mark.django_db


def test_a_consent_can_be_voided_and_its_record_version_rises(participant, data_manager):
    consent = participant.consents.get()
    assert (consent.form_version, consent.version) == ("ICF v1.0", 1)
    audited_void(consent, ctx=ctx_for(data_manager), reason="Signed on the wrong form", expected_version=1)
    consent.refresh_from_db()
    assert consent.voided and consent.version == 2 and consent.form_version == "ICF v1.0"
