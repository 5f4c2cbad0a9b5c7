"""Safety fixtures: a participant inside the AE reporting window and AE value builders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests import factories


def today() -> dt.date:
    return timezone.localdate()


def days_ago(n: int) -> str:
    return (today() - dt.timedelta(days=n)).isoformat()


def base_values(term: Any, **overrides: Any) -> dict[str, Any]:
    """A valid, non-serious, resolved AE of `term` at its lowest defined grade (service values)."""
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


def form_data(values: dict[str, Any]) -> dict[str, Any]:
    """Service values -> POST data of the AE form (checkboxes present only when ticked)."""
    data = {}
    for key, value in values.items():
        if key == "term":
            data["term"] = value.pk
        elif isinstance(value, bool):
            if value:
                data[key] = "on"
        elif value is None:
            data[key] = ""
        else:
            data[key] = str(value)
    return data


def api_data(values: dict[str, Any], study_id: str) -> dict[str, Any]:
    data = {k: v for k, v in values.items() if k != "term"}
    data["meddra_code"] = values["term"].meddra_code
    data["participant"] = study_id
    if data.get("death_date") is not None:
        data["death_date"] = data["death_date"].isoformat()
    return data


@pytest.fixture
def terms(db):
    from safety.models import CtcaeTerm

    class Terms:
        def __getitem__(self, name: str):
            return CtcaeTerm.objects.get(version="5.0", term=name)

    return Terms()


@pytest.fixture
def dosed_participant(participant, coordinator):
    """Enrolled 30 days ago with the baseline tracer given 19 days ago: the AE window is open."""
    factories.record_tracer_dose(coordinator, participant)
    return participant


@pytest.fixture
def ctx(coordinator):
    return factories.ctx_for(coordinator)


@pytest.fixture
def make_ae(dosed_participant, ctx, terms):
    from safety import services

    def make(term_name: str = "Fatigue", participant=None, context=None, **overrides):
        return services.ae_create(
            ctx=context or ctx,
            participant=participant or dosed_participant,
            values=base_values(terms[term_name], **overrides),
        )

    return make
