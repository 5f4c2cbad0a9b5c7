"""The scan-to-biopsy matching rule at its edges (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from pathology.matching import ScanRef, describe_rule, match_scan

BIOPSY = dt.date(2026, 3, 10)
WINDOW = 21


def scan(i: int, days: int, period: str = "baseline") -> ScanRef:
    return ScanRef(id=i, period=period, date=BIOPSY + dt.timedelta(days=days))


@pytest.mark.parametrize("days", [-(WINDOW - 1), -WINDOW, WINDOW - 1, WINDOW])
def test_a_scan_within_the_window_matches_on_either_side(days):
    assert match_scan("baseline", BIOPSY, [scan(1, days)], WINDOW).id == 1


@pytest.mark.parametrize("days", [-(WINDOW + 1), WINDOW + 1])
def test_a_scan_one_day_outside_the_window_does_not_match(days):
    assert match_scan("baseline", BIOPSY, [scan(1, days)], WINDOW) is None


def test_a_scan_of_the_other_period_never_matches_even_on_the_same_day():
    scans = [scan(1, 0, "on_treatment"), scan(2, 15, "baseline")]
    assert match_scan("baseline", BIOPSY, scans, WINDOW).id == 2
    assert match_scan("on_treatment", BIOPSY, scans, WINDOW).id == 1
    assert match_scan("on_treatment", BIOPSY, [scan(2, 0, "baseline")], WINDOW) is None


def test_the_nearest_scan_wins():
    scans = [scan(1, -9), scan(2, 4), scan(3, -5)]
    assert match_scan("baseline", BIOPSY, scans, WINDOW).id == 2


def test_equal_distance_is_broken_by_the_earlier_scan_then_the_lower_id():
    assert match_scan("baseline", BIOPSY, [scan(2, 3), scan(1, -3)], WINDOW).id == 1
    assert match_scan("baseline", BIOPSY, [scan(1, 3), scan(2, -3)], WINDOW).id == 2
    assert match_scan("baseline", BIOPSY, [scan(9, 2), scan(4, 2)], WINDOW).id == 4
    # Order of input does not matter.
    assert match_scan("baseline", BIOPSY, [scan(4, 2), scan(9, 2)], WINDOW).id == 4


def test_zero_window_needs_the_same_day_and_negative_is_refused():
    assert match_scan("baseline", BIOPSY, [scan(1, 0)], 0).id == 1
    assert match_scan("baseline", BIOPSY, [scan(1, 1)], 0) is None
    with pytest.raises(ValueError, match="zero or more"):
        match_scan("baseline", BIOPSY, [], -1)


def test_the_rule_text_names_period_nearest_and_window():
    text = describe_rule(21)
    assert "same period" in text and "nearest" in text and "21 days" in text and "earlier" in text
