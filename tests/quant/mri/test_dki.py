"""DKI: recovery of D and K on analytic curves, refusal beyond the 3/(D K) validity limit."""

from __future__ import annotations

import numpy as np
import pytest

from quant.errors import ModelValidityError, QuantInputError
from quant.mri.dki import dki_signal, fit_dki, validity_limit

B = np.array([0, 100, 300, 500, 800, 1000, 1300, 1600, 2000.0])


@pytest.mark.parametrize(
    ("d", "k"), [(0.7e-3, 0.5), (1.0e-3, 1.0), (1.5e-3, 0.8), (2.0e-3, 0.0), (0.5e-3, 2.0)]
)
def test_recovers_d_and_k_on_analytic_curves(d: float, k: float) -> None:
    res = fit_dki(B, dki_signal(B, 850.0, d, k))
    assert res.D_mm2_s == pytest.approx(d, rel=1e-6)
    assert pytest.approx(k, abs=1e-6) == res.K
    assert pytest.approx(850.0, rel=1e-6) == res.S0


def test_recovers_d_and_k_with_noise() -> None:
    rng = np.random.default_rng(5)
    d, k = 1.1e-3, 0.9
    b = np.repeat(B, 4)
    s = dki_signal(b, 1.0, d, k) + rng.normal(0, 0.002, b.size)
    res = fit_dki(b, s)
    assert res.D_mm2_s == pytest.approx(d, rel=0.03)
    assert pytest.approx(k, abs=0.1) == res.K


def test_kurtosis_is_never_negative() -> None:
    """A curve with negative true kurtosis is fitted at the K >= 0 bound, not below it."""
    s = dki_signal(B, 1.0, 1e-3, -0.5)
    assert pytest.approx(0.0, abs=1e-12) == fit_dki(B, s).K


def test_refuses_b_values_beyond_3_over_dk() -> None:
    d, k = 1e-3, 1.0  # limit 3000 s/mm2
    b = np.r_[B, 2500.0, 3500.0]
    with pytest.raises(ModelValidityError, match=r"3/\(D K\) = 3000"):
        fit_dki(b, dki_signal(b, 1.0, d, k))


def test_accepts_b_just_below_the_limit() -> None:
    b = np.r_[B, 2900.0]
    assert fit_dki(b, dki_signal(b, 1.0, 1e-3, 1.0)).b_limit_s_mm2 == pytest.approx(3000.0, rel=1e-6)


def test_validity_limit_is_infinite_without_kurtosis() -> None:
    assert validity_limit(1e-3, 0.0) == float("inf")


def test_too_few_b_values_are_refused() -> None:
    with pytest.raises(QuantInputError, match="distinct b-values"):
        fit_dki([0, 1000, 1000], [1.0, 0.4, 0.41])
