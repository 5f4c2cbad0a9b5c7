"""Every AE rule is enforced identically by the form, the API and the import, and each test fails if its rule goes."""

from __future__ import annotations

import datetime as dt

import pytest

from safety.models import AdverseEvent
from tests.safety import channels
from tests.safety.conftest import base_values, days_ago, today
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db
CHANNELS = ["form", "api", "import"]


@pytest.fixture
def submit(client, coordinator, dosed_participant, tmp_path):
    client.force_login(coordinator)

    def do(channel: str, values):
        if channel == "form":
            return channels.via_form(client, dosed_participant, values)
        if channel == "api":
            return channels.via_api(client, dosed_participant, values)
        return channels.via_import(tmp_path, coordinator.username, dosed_participant, values)

    return do


def fatal_fn(terms, **overrides):
    values = base_values(
        terms["Febrile neutropenia"],
        grade=5,
        end_date="",
        serious=True,
        sae_death=True,
        outcome="fatal",
        death_date=today() - dt.timedelta(days=3),
    )
    values.update(overrides)
    return values


CASES = {
    "grade defined for the term": (
        lambda t: base_values(t["Febrile neutropenia"], grade=2),
        "grade",
        "Grade must be defined for the term",
    ),
    "Death NOS is grade 5 only": (
        lambda t: fatal_fn(
            t, term=t["Death NOS"], grade=4, outcome="not_recovered", death_date=None, ongoing=True
        ),
        "grade",
        "defines grade 5 only",
    ),
    "Other, specify needs verbatim": (
        lambda t: base_values(t["Cardiac disorders - Other, specify"]),
        "verbatim_term",
        "verbatim text is required",
    ),
    "end not before onset": (
        lambda t: base_values(t["Fatigue"], onset_date=days_ago(5), end_date=days_ago(6)),
        "end_date",
        "End not before onset",
    ),
    "grade 5 requires outcome fatal": (
        lambda t: fatal_fn(t, outcome="not_recovered"),
        "outcome",
        "Grade 5 requires outcome fatal",
    ),
    "grade 5 requires a date of death": (
        lambda t: fatal_fn(t, death_date=None),
        "death_date",
        "Grade 5 requires the date of death",
    ),
    "serious requires a criterion": (
        lambda t: base_values(t["Fatigue"], serious=True),
        "serious",
        "Serious requires at least one SAE criterion",
    ),
    "onset outside the reporting window": (
        lambda t: base_values(t["Fatigue"], onset_date=days_ago(40), end_date=days_ago(35)),
        "out_of_window_reason",
        "Onset outside the reporting window",
    ),
}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("case", list(CASES))
def test_each_rule_is_refused_with_the_field_and_rule_named_in_every_channel(submit, terms, channel, case):
    build, field, phrase = CASES[case]
    status, errors = submit(channel, build(terms))
    assert status == 400, (channel, case, errors)
    assert phrase in " ".join(errors.get(field, [])), (channel, errors)
    assert AdverseEvent.objects.count() == 0


@pytest.mark.parametrize("channel", CHANNELS)
def test_valid_aes_are_saved_by_every_channel_with_the_ctcae_version_and_source(submit, terms, channel):
    status, errors = submit(channel, fatal_fn(terms, term=terms["Death NOS"]))
    assert (status, errors) == (201, {})
    status, errors = submit(
        channel,
        base_values(terms["Cardiac disorders - Other, specify"], grade=2, verbatim_term="Sinus pause"),
    )
    assert (status, errors) == (201, {})
    aes = list(AdverseEvent.objects.order_by("id"))
    assert [(a.term.term, a.grade, a.ctcae_version) for a in aes] == [
        ("Death NOS", 5, "5.0"),
        ("Cardiac disorders - Other, specify", 2, "5.0"),
    ]
    assert aes[1].display_term == "Cardiac disorders - Other, specify: Sinus pause"
    sources = set(
        AuditEntry.objects.filter(model="adverseevent", action="create").values_list("source", flat=True)
    )
    assert sources == {"form": {"browser"}, "api": {"api"}, "import": {"import"}}[channel]


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_onset_outside_the_window_with_a_reason_is_saved_and_flagged(
    submit, terms, channel, dosed_participant
):
    values = base_values(
        terms["Fatigue"],
        onset_date=days_ago(40),
        end_date=days_ago(35),
        out_of_window_reason="Started before the tracer; reported by the GP",
    )
    assert submit(channel, values) == (201, {})
    ae = AdverseEvent.objects.get()
    assert ae.out_of_window and ae.out_of_window_reason.startswith("Started before")


@pytest.mark.parametrize("channel", CHANNELS)
def test_partial_onset_dates_are_stored_as_iso_text_with_precision(submit, terms, channel):
    month = days_ago(0)[:7]
    values = base_values(terms["Fatigue"], onset_date=month, end_date="", ongoing=True)
    assert submit(channel, values) == (201, {})
    ae = AdverseEvent.objects.get()
    assert (ae.onset_date, ae.onset_precision, ae.end_date, ae.end_precision) == (month, "month", "", "")


def test_the_import_is_all_or_nothing_and_names_the_line(coordinator, dosed_participant, terms, tmp_path):
    status, errors = channels.via_import(
        tmp_path, coordinator.username, dosed_participant, base_values(terms["Febrile neutropenia"], grade=1)
    )
    assert status == 400 and "grade" in errors
    assert AdverseEvent.objects.count() == 0
