"""Decay time between absolute instants, and the injected activity decayed from its calibration time.

Autumn 2025 in Europe/Amsterdam: clocks go back on 26 October (03:00 CEST -> 02:00 CET). Injection
Friday 24 Oct 10:15 CEST (08:15 UTC), scan Monday 27 Oct 10:15 CET (09:15 UTC): 73 h elapsed, while the
wall clocks differ by 72 h. The 1 h error is 2^(1/78.41) - 1 = 0.88 % of SUV for 89Zr.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from quant.errors import SuvError
from quant.pet.suv import ZR89_HALF_LIFE_S, Clock, SuvHeader, compute_suv
from quant.pet.timing import parse_offset

WEIGHT_KG, DOSE_BQ = 75.0, 37e6


def _header(**fields) -> SuvHeader:
    base = {
        "units": "BQML",
        "decay_correction": "START",
        "corrected_image": ("ATTN", "DECY"),
        "series_date": "20251027",
        "series_time": "101500",
        "acquisition_dates": ("20251027",),
        "acquisition_times": ("101500",),
        "patient_weight_kg": WEIGHT_KG,
        "total_dose": DOSE_BQ,
        "half_life_s": ZR89_HALF_LIFE_S,
        "rp_start_datetime": "20251024101500",
        "radionuclide_code": "C-168A4",
    }
    return SuvHeader(**(base | fields))


def _expected_factor(hours: float, dose_bq: float = DOSE_BQ) -> float:
    return WEIGHT_KG * 1000 / (dose_bq * 2 ** (-hours * 3600 / ZR89_HALF_LIFE_S))


def test_wall_clock_only_gives_72_h_with_no_zone_known():
    result = compute_suv(_header())
    assert result.decay_time_s == 72 * 3600
    assert "wall clock (no zone known)" in result.time_basis


def test_site_time_zone_gives_73_h_across_the_autumn_dst_change():
    result = compute_suv(_header(), clock=Clock(site_tz="Europe/Amsterdam"))
    assert result.decay_time_s == 73 * 3600
    assert result.suv_bw_factor == pytest.approx(_expected_factor(73), rel=1e-12)
    wrong = _expected_factor(72)
    assert result.suv_bw_factor / wrong - 1 == pytest.approx(2 ** (1 / 78.41) - 1, rel=1e-3)  # +0.88 %
    assert any(
        "73.00 h between absolute instants differs from the wall-clock difference 72.00 h" in w
        for w in result.warnings
    )
    assert "site time zone Europe/Amsterdam" in result.time_basis


def test_offsets_in_dt_values_and_timezone_offset_from_utc_win_over_the_site_zone():
    header = _header(rp_start_datetime="20251024101500+0200", timezone_offset="+0100")
    result = compute_suv(header, clock=Clock(site_tz="UTC"))  # a wrong site zone is not used
    assert result.decay_time_s == 73 * 3600
    assert result.time_basis == "reference time: TimezoneOffsetFromUTC; injection: offset in the DT value"
    same_offset = compute_suv(_header(timezone_offset="+0100"), clock=Clock(site_tz="Europe/Amsterdam"))
    assert same_offset.decay_time_s == 72 * 3600  # the header says both times are +01:00
    with pytest.raises(SuvError, match="unreadable UTC offset"):
        parse_offset("0100")


def test_dosing_record_instant_across_dst():
    injected = datetime(2025, 10, 24, 8, 15, tzinfo=UTC)  # 10:15 CEST
    result = compute_suv(
        _header(rp_start_datetime=None),
        injected_mbq=37.0,
        clock=Clock(site_tz="Europe/Amsterdam", injection_instant=injected),
    )
    assert result.decay_time_s == 73 * 3600
    assert result.injection_time == datetime(2025, 10, 24, 10, 15, tzinfo=UTC)  # site wall clock shown


def test_activity_decayed_from_calibration_to_injection_hand_calculation():
    # 37.0 MBq measured at 08:00 UTC, injected 10:15 UTC: 2.25 h of 89Zr decay (T1/2 78.41 h).
    # By hand: ln2 * 2.25 / 78.41 = 0.0198900; e^-0.0198900 = 0.980306; 37.0 * 0.980306 = 36.2713 MBq.
    injected = datetime(2025, 10, 24, 10, 15, tzinfo=UTC)
    result = compute_suv(
        _header(rp_start_datetime=None),
        injected_mbq=37.0,
        clock=Clock(
            site_tz="UTC", injection_instant=injected, activity_measured_at=injected - timedelta(hours=2.25)
        ),
    )
    assert result.activity_decay_factor == pytest.approx(0.980306, abs=1e-6)
    assert result.dose_bq == pytest.approx(36.2713e6, rel=2e-6)
    hours = (datetime(2025, 10, 27, 10, 15, tzinfo=UTC) - injected).total_seconds() / 3600
    assert result.suv_bw_factor == pytest.approx(_expected_factor(hours, 36.2713e6), rel=2e-6)
    uncorrected = compute_suv(
        _header(rp_start_datetime=None),
        injected_mbq=37.0,
        clock=Clock(site_tz="UTC", injection_instant=injected),
    )
    assert result.suv_bw_factor / uncorrected.suv_bw_factor == pytest.approx(1 / 0.980306, rel=1e-6)
    assert math.isclose(uncorrected.activity_decay_factor, 1.0)


def test_measurement_time_without_activity_is_refused():
    with pytest.raises(SuvError, match="needs the measured activity"):
        compute_suv(_header(), clock=Clock(activity_measured_at=datetime(2025, 10, 24, tzinfo=UTC)))
