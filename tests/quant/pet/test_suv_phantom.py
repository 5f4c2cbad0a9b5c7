"""89Zr phantoms: every supported header variant recovers the SUV the phantom was made with."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quant.pet.series import read_pet_series
from quant.pet.suv import ZR89_HALF_LIFE_S, SuvError, compute_suv

from .phantoms import small_phantom

# Stored values are int16 with a per-slice slope of max/30000: the SUV of any voxel is recovered
# within 1e-4 relative to the slice maximum (12 SUV -> 4e-4 absolute). Factors to 1e-9 relative.
VOXEL_TOL = 12.0 / 30000.0
FACTOR_RTOL = 1e-9

VARIANTS = {
    "bqml_start": {},
    "cnts_philips_suv_factor": {"units": "CNTS_SUV"},
    "cnts_philips_activity_factor": {"units": "CNTS_ACT"},
    "gml": {"units": "GML"},
    "cm2ml": {"units": "CM2ML"},
    "decay_admin": {"decay_correction": "ADMIN"},
    "decay_none_two_beds": {"decay_correction": "NONE"},
    "ge_private_reference": {"reference": "ge_private"},
    "frame_reference_backcompute": {"reference": "frame_reference"},
    "missing_series_time": {"reference": "missing_series_time"},
    "midnight_crossing": {"injection": "midnight"},
    "dose_in_mbq": {"dose_in_mbq": True},
    "weight_in_grams": {"weight_in_g": True},
    "single_rescale_slope": {"per_slice_rescale": False},
    "six_days": {"hours_post_injection": 144.0},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_recovers_known_suv(tmp_path, variant):
    info = small_phantom(tmp_path, **VARIANTS[variant])
    series = read_pet_series(info.files)
    result = compute_suv(series.header)
    factors = np.asarray(result.slice_factors)
    assert np.allclose(factors, info.slice_factors, rtol=FACTOR_RTOL)
    suv = series.volume * factors[:, None, None]
    assert np.max(np.abs(suv - info.truth)) <= VOXEL_TOL
    assert result.formula


def test_per_slice_rescale_really_differs(tmp_path):
    info = small_phantom(tmp_path)
    series = read_pet_series(info.files)
    assert len(set(series.rescale_slopes)) > 1


@pytest.mark.parametrize(("hours", "factor"), [(24, 0.809), (48, 0.654), (144, 0.280)])
def test_decay_facts_from_domain_doc(tmp_path, hours, factor):
    info = small_phantom(tmp_path, hours_post_injection=float(hours))
    result = compute_suv(read_pet_series(info.files).header)
    assert result.decay_time_s == pytest.approx(hours * 3600)
    # suv factor = W/(D * decay) -> decay = W/(D * factor)
    decay = 75e3 / (37e6 * result.suv_bw_factor)
    assert decay == pytest.approx(factor, abs=0.0005)


def test_reference_sources_are_reported(tmp_path):
    sources = {}
    for name in ("series", "ge_private", "frame_reference", "missing_series_time"):
        info = small_phantom(tmp_path / name, reference=name)
        sources[name] = compute_suv(read_pet_series(info.files).header).reference_time_source
    assert sources["series"].startswith("SeriesDate")
    assert "GE private" in sources["ge_private"]
    assert "FrameReferenceTime" in sources["frame_reference"]
    assert "no series time" in sources["missing_series_time"]


def test_time_only_injection_refused_for_89zr_unless_dosing_record(tmp_path):
    info = small_phantom(tmp_path, injection="time_only")
    header = read_pet_series(info.files).header
    with pytest.raises(SuvError, match="dosing record"):
        compute_suv(header)
    result = compute_suv(header, injection_datetime=info.injection_datetime.replace(tzinfo=None).isoformat())
    assert result.suv_bw_factor == pytest.approx(info.suv_bw_factor, rel=FACTOR_RTOL)
    assert "dosing record" in result.injection_time_source


def test_time_only_assumption_would_underestimate(tmp_path):
    """Without the strict rule the series date is assumed: SUV x0.654 at 48 h (why 89Zr refuses)."""
    info = small_phantom(tmp_path, injection="time_only")
    header = read_pet_series(info.files).header
    wrong = compute_suv(header, strict_zr89=False)
    assert wrong.suv_bw_factor / info.suv_bw_factor == pytest.approx(
        2 ** (-48 * 3600 / ZR89_HALF_LIFE_S), rel=1e-9
    )
    assert any("no date" in w for w in wrong.warnings)


@pytest.mark.parametrize("half_life", [6586.2, 282276.0 * 1.006, 282276.0 * 0.994])
def test_half_life_not_89zr_refused(tmp_path, half_life):
    info = small_phantom(tmp_path, half_life_s=half_life)
    with pytest.raises(SuvError, match="not 89Zr"):
        compute_suv(read_pet_series(info.files).header)


def test_half_life_within_half_percent_accepted(tmp_path):
    info = small_phantom(tmp_path, half_life_s=78.36 * 3600)  # NUBASE2020 value
    result = compute_suv(read_pet_series(info.files).header)
    assert result.suv_bw_factor == pytest.approx(info.suv_bw_factor, rel=FACTOR_RTOL)


def test_overrides_for_weight_and_dose(tmp_path):
    info = small_phantom(tmp_path)
    header = read_pet_series(info.files).header
    result = compute_suv(header, weight_kg=150.0, injected_mbq=74.0)
    assert result.suv_bw_factor == pytest.approx(info.suv_bw_factor, rel=1e-9)  # both doubled
    assert result.weight_kg == 150.0 and result.dose_bq == 74e6


def test_missing_weight_refused_then_overridden(tmp_path):
    import dataclasses

    info = small_phantom(tmp_path)
    header = dataclasses.replace(read_pet_series(info.files).header, patient_weight_kg=None)
    with pytest.raises(SuvError, match="weight"):
        compute_suv(header)
    assert compute_suv(header, weight_kg=75.0).suv_bw_factor == pytest.approx(info.suv_bw_factor, rel=1e-9)


def test_none_factors_follow_qiba_formula(tmp_path):
    info = small_phantom(tmp_path, decay_correction="NONE")
    result = compute_suv(read_pet_series(info.files).header)
    lam = math.log(2) / ZR89_HALF_LIFE_S
    x = lam * 300.0
    expected_first = 75e3 / 37e6 * x / (1 - math.exp(-x)) * math.exp(lam * 48 * 3600)
    assert result.slice_factors[0] == pytest.approx(expected_first, rel=1e-12)
    assert len(set(result.slice_factors)) == 2  # two beds, two acquisition times
