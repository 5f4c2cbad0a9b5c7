"""Pure modules (no database): partial dates, AE rules, signature hash, incidence counting."""

from __future__ import annotations

import datetime as dt

import pytest

from safety import incidence, rules, signing
from safety import partial_dates as pd

TODAY = dt.date(2026, 6, 30)
WINDOW = (dt.date(2026, 3, 10), dt.date(2026, 12, 1))
FN = rules.TermInfo("Febrile neutropenia", "5.0", {3: "ANC <1000", 4: "Life-threatening", 5: "Death"}, False)
OTHER = rules.TermInfo("Cardiac disorders - Other, specify", "5.0", {g: f"g{g}" for g in range(1, 6)}, True)


def good(**overrides):
    values = {
        "grade": 3,
        "onset_date": "2026-04-01",
        "end_date": "2026-04-10",
        "ongoing": False,
        "serious": False,
        "outcome": "recovered",
        "death_date": None,
        "out_of_window_reason": "",
    }
    values.update(overrides)
    return values


def errors_of(values, term=FN, window=WINDOW):
    return rules.check_ae(values, term, window, TODAY)[0]


@pytest.mark.parametrize(
    "text,precision,earliest,latest",
    [
        ("2026", "year", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        ("2024-02", "month", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2026-03-05", "day", dt.date(2026, 3, 5), dt.date(2026, 3, 5)),
    ],
)
def test_partial_dates_parse_with_precision_and_bounds(text, precision, earliest, latest):
    value = pd.parse(text)
    assert (value.precision, value.earliest, value.latest, value.iso()) == (precision, earliest, latest, text)


@pytest.mark.parametrize("text", ["", "26-03", "2026-13", "2026-02-30", "2026/03/01", "1850", "2026-3"])
def test_bad_partial_dates_are_refused_with_a_readable_message(text):
    with pytest.raises(pd.PartialDateError, match="YYYY|month|calendar|plausible"):
        pd.parse(text)


def test_definitely_before_compares_the_whole_span_of_a_partial_date():
    assert pd.definitely_before(pd.parse("2026-03"), pd.parse("2026-04-01"))
    assert not pd.definitely_before(pd.parse("2026-03"), pd.parse("2026-03-15"))
    assert not pd.definitely_before(pd.parse("2026"), pd.parse("2026-03-15"))


def test_a_valid_ae_passes_every_rule():
    assert errors_of(good()) == {}


@pytest.mark.parametrize("grade", [1, 2, 6, None])
def test_rule_grade_must_be_defined_for_the_term(grade):
    errs = errors_of(good(grade=grade))
    assert "Grade must be defined for the term" in errs["grade"][0]
    assert "defines grade 3, 4, 5 only" in errs["grade"][0]


def test_rule_other_specify_requires_the_verbatim_text():
    assert "verbatim" in errors_of(good(grade=2), term=OTHER)["verbatim_term"][0]
    assert errors_of(good(grade=2, verbatim_term="Sinus pause"), term=OTHER) == {}


@pytest.mark.parametrize(
    "onset,end,refused",
    [
        ("2026-04-10", "2026-04-09", True),
        ("2026-04-10", "2026-04-10", False),
        ("2026-04-10", "2026-04", False),
        ("2026-04", "2026-03", True),
        ("2026-05", "2026", False),
    ],
)
def test_rule_end_not_before_onset_with_partial_dates(onset, end, refused):
    errs = errors_of(good(onset_date=onset, end_date=end))
    assert ("End not before onset" in " ".join(errs.get("end_date", []))) is refused


def test_ongoing_and_end_date_exclude_each_other_and_one_is_needed():
    assert "ongoing" in errors_of(good(ongoing=True))["end_date"][0]
    assert "tick ongoing" in errors_of(good(end_date=""))["end_date"][0]
    assert errors_of(good(end_date="", ongoing=True)) == {}


def test_rule_grade5_requires_outcome_fatal_and_a_date_of_death():
    errs = errors_of(good(grade=5, end_date="", serious=True, sae_death=True))
    assert "Grade 5 requires outcome fatal" in errs["outcome"][0]
    assert "Grade 5 requires the date of death" in errs["death_date"][0]
    fatal = good(
        grade=5, end_date="", serious=True, sae_death=True, outcome="fatal", death_date=dt.date(2026, 4, 5)
    )
    assert errors_of(fatal) == {}
    assert (
        "Outcome fatal is grade 5"
        in errors_of(good(outcome="fatal", death_date=dt.date(2026, 4, 5)))["outcome"][0]
    )
    assert (
        "results in death"
        in errors_of({**fatal, "sae_death": False, "sae_other_important": True})["sae_death"][0]
    )


def test_rule_serious_requires_at_least_one_criterion():
    assert "at least one SAE criterion" in errors_of(good(serious=True))["serious"][0]
    assert errors_of(good(serious=True, sae_hospitalisation=True)) == {}
    assert "marked serious" in errors_of(good(sae_life_threatening=True))["serious"][0]


@pytest.mark.parametrize(
    "onset,outside",
    [
        ("2026-03-09", True),
        ("2026-03-10", False),
        ("2026-03", False),
        ("2026-02", True),
        ("2026-12-01", False),
        ("2026-12-02", True),
    ],
)
def test_rule_onset_outside_the_reporting_window_needs_a_reason_and_is_flagged(onset, outside):
    today = dt.date(2027, 1, 31)
    values = good(onset_date=onset, end_date="")
    values["ongoing"] = True
    errs, flagged = rules.check_ae(values, FN, WINDOW, today)
    assert flagged is outside
    assert ("Onset outside the reporting window" in " ".join(errs.get("out_of_window_reason", []))) is outside
    errs, flagged = rules.check_ae(
        {**values, "out_of_window_reason": "Reported late by GP"}, FN, WINDOW, today
    )
    assert errs == {} and flagged is outside


def test_no_study_procedure_yet_means_every_onset_is_outside_the_window():
    assert "has not started" in errors_of(good(), window=(None, None))["out_of_window_reason"][0]


def test_future_dates_are_refused():
    assert "future" in errors_of(good(onset_date="2026-07-01", end_date="", ongoing=True))["onset_date"][0]


def test_the_signature_hash_is_order_independent_and_changes_with_any_field():
    a = {"id": 1, "grade": 2, "onset_date": "2026-04-01", "updated_at": "x"}
    b = {"id": 2, "grade": 3, "onset_date": "2026-04-02", "updated_at": "y"}
    h = signing.content_hash([a, b])
    assert h == signing.content_hash([b, a])
    assert h == signing.content_hash([{**a, "updated_at": "later"}, b])  # bookkeeping is not signed content
    assert h != signing.content_hash([{**a, "grade": 3}, b])
    assert len(h) == 64 and int(h, 16) >= 0


def test_incidence_counts_each_participant_once_at_the_maximum_grade():
    rows = [
        incidence.AeRow(1, "GI", "Diarrhea", 1),
        incidence.AeRow(1, "GI", "Diarrhea", 3),
        incidence.AeRow(1, "GI", "Nausea", 2),
        incidence.AeRow(2, "GI", "Nausea", 1),
        incidence.AeRow(2, "Skin", "Pruritus", 2),
    ]
    lines = {(line.soc, line.term): line for line in incidence.incidence(rows)}
    assert lines[("GI", "")].by_grade == {1: 0, 2: 0, 3: 1, 4: 0, 5: 0} | {1: 1}
    assert lines[("GI", "Diarrhea")].by_grade[3] == 1 and lines[("GI", "Diarrhea")].any_grade == 1
    assert lines[("GI", "Nausea")].any_grade == 2
    assert incidence.participants_with_any(rows, min_grade=3) == 1
    assert [line.term for line in incidence.incidence(rows, min_grade=3)] == ["", "Diarrhea"]
    assert incidence.percent(1, 3) == 33.3
