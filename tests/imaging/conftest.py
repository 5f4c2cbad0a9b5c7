"""Fixtures of the PET web tests (prefixed pet_web_); other PET test fixtures may be appended below."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests import factories


def use_tmp_media(settings, tmp_path):
    """Stored files and upload temp dirs under tmp_path."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.UPLOAD_TMP_DIR = tmp_path / "upload_tmp"
    settings.MEDIA_ROOT.mkdir()
    settings.UPLOAD_TMP_DIR.mkdir()
    return settings


@pytest.fixture
def pet_web_media(settings, tmp_path):
    return use_tmp_media(settings, tmp_path)


@dataclass
class PetTrial:
    participant: Any
    scan: Any
    dose: Any
    radiologist: Any


# The phantom scans 2025-03-14 10:15 (wall clock) 48 h after an injection at 2025-03-12 10:15 wall clock.
PHANTOM_INJECTION_UTC = dt.datetime(2025, 3, 12, 9, 15, tzinfo=dt.UTC)  # 10:15 Europe/Amsterdam (CET)


def enrol_for_phantom(
    coordinator,
    site,
    *,
    dose_mbq: str = "37.5",
    when: dt.datetime = PHANTOM_INJECTION_UTC,
    weight_kg: str = "75.0",
    record_dose: bool = True,
):
    """Participant whose BL_TRACER visit is 2025-03-12 and BL_PET1 2025-03-14 (the phantom's dates)."""
    from imaging.services import scans_ensure_for_participant

    participant = factories.enrol(
        coordinator,
        site,
        enrolment_date=dt.date(2025, 2, 20),
        treatment_start=dt.date(2025, 3, 22),
        weight_kg=weight_kg,
        sex="M",
    )
    dose = None
    if record_dose:
        # residual 0.5 MBq in the factory: net = dose_mbq - 0.5
        dose = factories.record_tracer_dose(coordinator, participant, when=when, mbq=dose_mbq)
    scans_ensure_for_participant(participant)
    scan = participant.scans.get(visit__code="BL_PET1")
    return participant, scan, dose


def make_trial(coordinator, site, radiologist) -> PetTrial:
    participant, scan, dose = enrol_for_phantom(coordinator, site)
    assert dose.net_injected_mbq == Decimal("37.0")
    return PetTrial(participant, scan, dose, radiologist)


@pytest.fixture
def pet_web_trial(pet_web_media, coordinator, site_nl, radiologist) -> PetTrial:
    return make_trial(coordinator, site_nl, radiologist)


def series_maker(tmp_path):
    """make(name, **PhantomSpec fields) writes a small 89Zr phantom (12 x 40 x 40, 4 mm): (info, directory)."""
    from quant.pet.phantom import PhantomSpec, write_phantom

    def make(name: str = "series", **fields):
        fields.setdefault("shape", (12, 40, 40))
        directory = Path(tmp_path) / name
        info = write_phantom(str(directory), PhantomSpec(**fields))
        return info, directory

    return make


@pytest.fixture
def pet_web_series(tmp_path):
    return series_maker(tmp_path)
