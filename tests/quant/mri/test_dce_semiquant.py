"""Semi-quantitative DCE parameters on an analytic gamma-variate curve C = A x exp(-x/tau), x = t - t0."""

from __future__ import annotations

import numpy as np
import pytest

from quant.errors import QuantInputError
from quant.mri.dce_semiquant import SEMIQUANT_DEFINITIONS, semi_quantitative

A, TAU, T0, DT = 0.01, 40.0, 30.0, 0.5  # mM/s, s, s, s
T = np.arange(0.0, 600.0 + DT, DT)


def _curve(t: np.ndarray) -> np.ndarray:
    x = np.maximum(t - T0, 0.0)
    return A * x * np.exp(-x / TAU)


def _iauc(window: float) -> float:
    return A * TAU**2 * (1 - np.exp(-window / TAU) * (1 + window / TAU))


def test_iauc_ttp_peak_slope_washout_match_closed_forms() -> None:
    res = semi_quantitative(T, _curve(T), arrival_s=T0)
    assert res["iAUC60_mM_s"] == pytest.approx(_iauc(60.0), rel=1e-3)
    assert res["iAUC90_mM_s"] == pytest.approx(_iauc(90.0), rel=1e-3)
    assert res["time_to_peak_s"] == pytest.approx(TAU)
    assert res["peak_mM"] == pytest.approx(A * TAU / np.e)
    # steepest frame-to-frame slope is the first interval after arrival: A exp(-dt/tau)
    assert res["initial_slope_mM_per_s"] == pytest.approx(A * np.exp(-DT / TAU), rel=1e-9)
    c_end = _curve(np.array([600.0]))[0]
    assert res["washout_fraction"] == pytest.approx((A * TAU / np.e - c_end) / (A * TAU / np.e))


def test_every_value_carries_its_definition() -> None:
    res = semi_quantitative(T, _curve(T), arrival_s=T0)
    assert set(res["definitions"]) == set(SEMIQUANT_DEFINITIONS)
    assert all(k in res for k in SEMIQUANT_DEFINITIONS)
    assert "60 s" in res["definitions"]["iAUC60_mM_s"]


def test_iauc_window_starts_at_the_arrival_time() -> None:
    late = semi_quantitative(T, _curve(T), arrival_s=T0 + 20.0)
    x0, x1 = 20.0, 80.0  # integral of A x e^(-x/tau) from 20 to 80
    prim = lambda x: -A * TAU * np.exp(-x / TAU) * (x + TAU)  # noqa: E731
    assert late["iAUC60_mM_s"] == pytest.approx(prim(x1) - prim(x0), rel=1e-3)


def test_arrival_is_detected_within_3_s_from_a_noisy_baseline() -> None:
    rng = np.random.default_rng(7)
    c = _curve(T) + rng.normal(0, 0.002, T.size)
    res = semi_quantitative(T, c, n_baseline=40)
    assert abs(res["arrival_s"] - T0) <= 3.0


def test_iauc90_is_none_when_acquisition_is_too_short() -> None:
    t = np.arange(0.0, 100.0, 1.0)
    assert semi_quantitative(t, _curve(t), arrival_s=T0)["iAUC90_mM_s"] is None


def test_flat_curve_has_no_arrival() -> None:
    with pytest.raises(QuantInputError, match="arrival"):
        semi_quantitative(T, np.zeros_like(T))
