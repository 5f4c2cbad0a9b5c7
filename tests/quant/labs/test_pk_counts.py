"""PK serum activity from gamma-counter counts, against hand calculations."""

from __future__ import annotations

import datetime as dt

import pytest

from quant.labs.pk_counts import PkCountError, serum_activity

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_one_half_life_after_injection_doubles_the_activity_at_counting():
    # 60,000 net counts in 60 s = 1000 cps; efficiency 0.5 -> 2000 Bq; calibration 1.0; 0.5 mL -> 4000 Bq/mL.
    # Counted exactly 78.41 h after injection: x 2 -> 8000 Bq/mL at injection.
    r = serum_activity(
        injected_at=T0,
        sampled_at=T0 + dt.timedelta(minutes=30),
        counted_at=T0 + dt.timedelta(hours=78.41),
        gross_counts=60_500,
        background_counts=500,
        count_time_s=60,
        efficiency=0.5,
        calibration=1.0,
        volume_ml=0.5,
    )
    assert r.minutes_after_injection == pytest.approx(30.0)
    assert r.bq_per_ml_at_counting == pytest.approx(4000.0, rel=1e-12)
    assert r.bq_per_ml_at_injection == pytest.approx(8000.0, rel=1e-9)


def test_a_sample_counted_24_h_after_injection_by_hand():
    # 12,345 net counts / 120 s = 102.875 cps; / 0.42 = 244.9405 Bq; x 1.03 = 252.2887 Bq; / 1.0 mL.
    # exp(ln2 x 24 / 78.41) = 1.236347  ->  311.916 Bq/mL.
    r = serum_activity(
        injected_at=T0,
        sampled_at=T0 + dt.timedelta(hours=1),
        counted_at=T0 + dt.timedelta(hours=24),
        gross_counts=12_545,
        background_counts=200,
        count_time_s=120,
        efficiency=0.42,
        calibration=1.03,
        volume_ml=1.0,
    )
    assert r.bq_per_ml_at_counting == pytest.approx(252.2887, abs=1e-4)
    assert r.bq_per_ml_at_injection == pytest.approx(311.914, abs=0.01)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"sampled_at": T0 - dt.timedelta(minutes=1)}, "before the injection"),
        ({"counted_at": T0}, "counted before it was drawn"),
        ({"background_counts": 10**9}, "background counts exceed"),
        ({"efficiency": 0}, "efficiency"),
    ],
)
def test_impossible_counts_or_times_are_refused(change, message):
    cells = dict(
        injected_at=T0,
        sampled_at=T0 + dt.timedelta(minutes=5),
        counted_at=T0 + dt.timedelta(hours=2),
        gross_counts=1000,
        background_counts=0,
        count_time_s=60,
        efficiency=0.5,
        calibration=1.0,
        volume_ml=1.0,
    )
    with pytest.raises(PkCountError, match=message):
        serum_activity(**{**cells, **change})
