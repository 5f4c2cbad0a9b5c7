"""Block limits of the header cross-checks (pure): error beyond the limit, warning below, messages with numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quant.pet import crosscheck
from quant.pet.crosscheck import BlockLimits
from quant.pet.suv import SuvHeader

DOSED = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _header(**fields) -> SuvHeader:
    required = {
        "units": "BQML",
        "decay_correction": "START",
        "corrected_image": ("ATTN", "DECY"),
        "series_date": "20260303",
        "series_time": "100000",
        "acquisition_dates": (),
        "acquisition_times": (),
    }
    return SuvHeader(**(required | fields))


def test_weight_beyond_the_limit_is_an_error_naming_record_field_and_difference():
    [finding] = crosscheck.check_weight(95.9, 52.8, "visit V2, 2026-03-01")
    assert finding.severity == "error" and finding.code == "WEIGHT_CONTRADICTS_RECORD"
    assert finding.message == (
        "PatientWeight 95.9 kg differs from the recorded weight 52.8 kg (visit V2, 2026-03-01) by 82 % (limit 20 %)."
    )
    assert crosscheck.check_weight(95.9, 52.8, limits=BlockLimits(weight_pct=90))[0].severity == "warning"
    assert crosscheck.check_weight(95900, 52.8)[0].severity == "error"  # grams are read as grams
    assert crosscheck.check_weight(62.0, 52.8)[0].severity == "warning"  # 17 %


def test_injection_date_more_than_a_day_off_is_an_error():
    header = _header(rp_start_datetime=(DOSED - timedelta(days=59)).strftime("%Y%m%d%H%M%S"))
    [finding] = crosscheck.check_injection(header, DOSED, "BL_TRACER")
    assert finding.severity == "error" and finding.code == "INJECTION_DATE_MISMATCH"
    assert "2026-01-01 10:00 differs from the dosing record of BL_TRACER (2026-03-01 10:00) by 59.0 days" in (
        finding.message
    )
    close = _header(rp_start_datetime=(DOSED - timedelta(hours=23)).strftime("%Y%m%d%H%M%S"))
    assert [f.severity for f in crosscheck.check_injection(close, DOSED, "BL_TRACER")] == ["warning"]
    time_only = _header(rp_start_time="100000")  # no date in the header: nothing to contradict
    assert "error" not in {f.severity for f in crosscheck.check_injection(time_only, DOSED, "BL_TRACER")}


def test_window_beyond_the_tolerance_is_an_error():
    scan = DOSED + timedelta(hours=1465)
    [finding] = crosscheck.check_window(scan, DOSED, 48.0, 24.0, 24.0)
    assert finding.severity == "error" and "1393.0 h outside the planned window 24-72 h" in finding.message
    assert (
        crosscheck.check_window(DOSED + timedelta(hours=80), DOSED, 48.0, 24.0, 24.0)[0].severity == "warning"
    )
    early = crosscheck.check_window(DOSED + timedelta(hours=5), DOSED, 48.0, 24.0, 24.0)
    assert early[0].severity == "error"  # 19 h before the window opens
    assert crosscheck.check_window(DOSED + timedelta(hours=60), DOSED, 48.0, 24.0, 24.0) == []


def test_header_contradictions_for_the_command_line():
    header = _header(patient_weight_kg=75.0, rp_start_datetime="20260301100000")
    assert (
        crosscheck.header_contradictions(header, weight_kg=70.0, injection=DOSED + timedelta(hours=20)) == []
    )
    found = crosscheck.header_contradictions(header, weight_kg=52.8, injection=DOSED + timedelta(days=3))
    assert found[0] == "--weight-kg 52.8 contradicts the header PatientWeight 75 kg by 30 % (limit 20 %)"
    assert "--injection-time 2026-03-04 10:00 contradicts" in found[1] and "by 3.0 days" in found[1]
    no_header = _header()
    assert crosscheck.header_contradictions(no_header, weight_kg=52.8, injection=DOSED) == []
