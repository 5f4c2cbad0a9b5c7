"""Plausibility rules (quant/pet/plausibility.py): each fires at its documented limit, names field and record."""

from __future__ import annotations

from quant.pet import plausibility
from quant.pet.plausibility import ActivityRange
from quant.pet.suv import SuvHeader


def _header(series_date: str, series_time: str = "101500") -> SuvHeader:
    return SuvHeader(
        units="BQML",
        decay_correction="START",
        corrected_image=("ATTN", "DECY"),
        series_date=series_date,
        series_time=series_time,
        acquisition_dates=("20250314", "20250314"),
        acquisition_times=("101500", "102000"),
    )


def test_series_date_20_days_before_the_acquisition_blocks():
    [finding] = plausibility.check_series_date(_header("20250222"))
    assert finding.code == "SERIES_DATE_IMPLAUSIBLE" and finding.severity == "error"
    assert finding.message.startswith(
        "SeriesDate/SeriesTime 2025-02-22 10:15 is 20.0 days before the earliest AcquisitionDate/AcquisitionTime "
        "2025-03-14 10:15 (limit 2 h)"
    )
    assert plausibility.check_series_date(_header("20250314", "081600")) == []  # 1 h 59 min: within the limit
    assert plausibility.check_series_date(_header("20250314", "081400"))[0].severity == "error"  # 2 h 01 min
    assert plausibility.check_series_date(_header("20250315")) == []  # after the acquisition: not this rule


def test_activity_outside_the_protocol_range():
    [header, record] = plausibility.check_activity_range(4266e6, 37.0 * 1.11, "BL_TRACER")
    assert header.code == "ACTIVITY_IMPLAUSIBLE" and header.severity == "error"
    assert header.message.startswith("RadionuclideTotalDose in the header is 4,266.00 MBq")
    assert record.code == "ACTIVITY_OUTSIDE_PROTOCOL" and record.severity == "warning"
    assert "dosing record BL_TRACER is 41.07 MBq, outside the protocol range 33.3-40.7 MBq" in record.message
    assert plausibility.check_activity_range(40.7e6, 33.3, "BL_TRACER") == []  # band edges are inside
    assert plausibility.check_activity_range(18.4, None, "BL_TRACER")[0].severity == "error"  # MBq, < 37/2
    assert plausibility.check_activity_range(18.6e6, None, "BL_TRACER")[0].severity == "warning"
    assert plausibility.check_activity_range(80e6, None, "x", ActivityRange(nominal_mbq=74.0)) == []


def test_lossy_compression_is_a_warning_naming_the_reason():
    assert plausibility.check_lossy(()) == []
    [finding] = plausibility.check_lossy(
        ("LossyImageCompression 01: the pixels were lossy-compressed before",)
    )
    assert finding.code == "LOSSY_COMPRESSION" and finding.severity == "warning"
    assert "LossyImageCompression 01" in finding.message
