"""Forward models, AIFs and SPGR conversion against closed forms and an ODE solution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from quant.errors import QuantInputError
from quant.mri.aif import parker_blood_mM, parker_plasma_mM, shift_aif, weinmann_plasma_mM
from quant.mri.dce import spgr_signal, spgr_signal_to_concentration
from quant.mri.dce_models import conv_exp, two_cxm


def test_parker_aif_matches_the_published_check_values() -> None:
    assert parker_blood_mM([0.0, 1.0, 5.0]) == pytest.approx([0.08038, 0.88719, 0.45216], abs=1e-5)


def test_parker_plasma_is_blood_over_one_minus_hct_and_zero_before_arrival() -> None:
    cp = parker_plasma_mM([10.0, 70.0], delay_s=10.0, hct=0.45)
    assert cp[0] == pytest.approx(0.08038 / 0.55, abs=1e-4)
    assert cp[1] == pytest.approx(0.88719 / 0.55, abs=1e-4)
    assert parker_plasma_mM([5.0], delay_s=10.0)[0] == 0.0


def test_weinmann_aif_starts_at_dose_times_amplitudes() -> None:
    cp = weinmann_plasma_mM([0.0, 60.0])
    assert cp[0] == pytest.approx(0.1 * (3.99 + 4.78))
    assert cp[1] == pytest.approx(0.1 * (3.99 * np.exp(-0.144) + 4.78 * np.exp(-0.0111)))


def test_shift_aif_delays_samples() -> None:
    t = np.arange(0, 10.0)
    assert shift_aif(t, t**2, 2.0)[5] == pytest.approx(9.0)


@pytest.mark.parametrize("k", [0.0, 1e-5, 0.7, 30.0])
def test_conv_exp_is_exact_for_a_ramp_on_uniform_and_irregular_grids(k: float) -> None:
    for t in (np.linspace(0, 5, 301), np.sort(np.r_[np.linspace(0, 5, 41), 0.77, 1.31, 2.5001])):
        x = np.maximum(t - 0.5, 0)
        kx = k * x
        series = x**2 * (0.5 - kx / 6 + kx**2 / 24 - kx**3 / 120)
        ref = series if k * x.max() < 1e-2 else x / k + np.expm1(-kx) / k**2
        assert np.max(np.abs(conv_exp(t, x, k) - ref)) < 1e-9 * max(1, ref.max())


def test_conv_exp_vectorised_over_rates_matches_scalar() -> None:
    t = np.linspace(0, 5, 61)
    cp = parker_plasma_mM(t * 60, delay_s=15)
    ks = np.array([0.1, 1.0, 5.0])
    batch = conv_exp(t, cp, ks)
    for i, k in enumerate(ks):
        assert batch[i] == pytest.approx(conv_exp(t, cp, k), rel=1e-10, abs=1e-14)


def test_2cxm_matches_an_ode_solution_of_the_two_compartments() -> None:
    t = np.linspace(0, 5, 301)
    cp = parker_plasma_mM(t * 60, delay_s=10)
    f, ps, ve, vp = 0.3, 0.1, 0.2, 0.05

    def rhs(tt: float, y: np.ndarray) -> list[float]:
        ca = np.interp(tt, t, cp)
        return [(f * (ca - y[0]) - ps * (y[0] - y[1])) / vp, ps * (y[0] - y[1]) / ve]

    sol = solve_ivp(rhs, (0, 5), [0, 0], t_eval=t, rtol=1e-10, atol=1e-12, max_step=0.005)
    assert two_cxm(t, cp, 30.0, ps, ve, vp) == pytest.approx(vp * sol.y[0] + ve * sol.y[1], abs=1e-7)


def test_spgr_round_trip_recovers_concentration() -> None:
    c_true = np.array([[0.0, 0.0, 0.0, 0.5, 2.0, 1.0]])
    t10, r1, tr, fa = 1.4, 4.5, 0.005, 15.0
    s = spgr_signal(1000.0, 1 / t10 + r1 * c_true, tr, fa)
    c = spgr_signal_to_concentration(
        s, t10_s=np.array([t10]), r1_per_mM_s=r1, tr_s=tr, flip_deg=fa, n_baseline=3
    )
    assert c == pytest.approx(c_true, abs=1e-9)


def test_spgr_refuses_signal_above_full_relaxation() -> None:
    s = np.array([100.0, 100.0, 1e6])
    with pytest.raises(QuantInputError, match="SPGR range"):
        spgr_signal_to_concentration(s, t10_s=1.0, r1_per_mM_s=4.5, tr_s=0.005, flip_deg=15, n_baseline=2)
