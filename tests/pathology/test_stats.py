"""Spearman rho, Fisher-z CI and p-values against hand computation and scipy (no database)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from pathology.stats import SpearmanResult, StatsError, average_ranks, fisher_ci, spearman


def test_rho_and_ci_match_the_hand_computation():
    # x = 1..7, y = 2 1 4 3 7 5 6: d = -1 1 -1 1 -2 1 1, sum d^2 = 10,
    # rho = 1 - 6*10 / (7*(49-1)) = 1 - 60/336 = 0.8214286.
    # z = atanh(rho) = 0.5*ln(1.8214286/0.1785714) = 0.5*ln(10.2) = 1.1611961,
    # SE = sqrt(1.06/4) = 0.5147815, 1.96*SE = 1.0089717 (1.959964 used),
    # CI = tanh(0.1522244), tanh(2.1701678) = 0.1510753, 0.9742699.
    r = spearman([1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6])
    assert r.n == 7
    assert r.rho == pytest.approx(0.8214286, abs=1e-7)
    assert r.ci_low == pytest.approx(0.1510753, abs=1e-5)
    assert r.ci_high == pytest.approx(0.9742699, abs=1e-5)


def test_exact_p_for_four_perfectly_ordered_pairs_is_two_of_24():
    # Only the identity and the reversal of 4 ranks reach |rho| = 1: p = 2/4! = 0.0833.
    r = spearman([1, 2, 3, 4], [10, 20, 30, 40])
    assert r.rho == 1.0
    assert r.p_value == pytest.approx(2 / 24)
    assert r.p_method == "exact permutation"
    assert r.ci_low is None and "undefined" in r.note


def test_ties_get_average_ranks_and_rho_matches_scipy():
    assert list(average_ranks([10, 20, 20, 30, 20])) == [1.0, 3.0, 3.0, 5.0, 3.0]
    x, y = [1, 2, 2, 3, 4], [2, 1, 3, 3, 5]
    # Ranks x: 1 2.5 2.5 4 5; y: 2 1 3.5 3.5 5; Pearson of ranks = 7.25 / sqrt(9.5 * 9.5) = 0.7631579.
    r = spearman(x, y)
    assert r.rho == pytest.approx(7.25 / 9.5, abs=1e-12)
    assert r.rho == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)


def test_exact_permutation_p_matches_scipy_permutation_test():
    x, y = [1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6]
    ref = sps.permutation_test(
        (x,), lambda a: sps.spearmanr(a, y).statistic, permutation_type="pairings", n_resamples=np.inf
    )
    r = spearman(x, y)
    assert r.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    assert r.p_value == pytest.approx(172 / 5040, abs=1e-12)


def test_large_n_uses_the_t_approximation_like_scipy():
    rng = np.random.default_rng(7)
    a = rng.normal(size=40)
    b = a + rng.normal(size=40)
    r = spearman(a, b)
    ref = sps.spearmanr(a, b)
    assert r.p_method == "t approximation"
    assert r.rho == pytest.approx(ref.statistic, abs=1e-12)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    z, se = math.atanh(r.rho), math.sqrt(1.06 / 37)
    assert (r.ci_low, r.ci_high) == pytest.approx(
        (math.tanh(z - 1.959964 * se), math.tanh(z + 1.959964 * se))
    )


def test_small_n_never_shows_a_p_value_or_ci_but_always_n():
    r = spearman([1, 2, 3], [3, 1, 2])
    assert r.n == 3 and r.p_value is None and r.ci_low is None
    assert "n = 3" in r.label()
    assert "p =" not in r.label()
    two = spearman([1, 2], [2, 1])
    assert two.rho is None and two.label().startswith("n = 2")
    assert fisher_ci(0.5, 3) is None


def test_missing_pairs_are_dropped_and_constants_reported():
    r = spearman([1, None, 3, 4, 5, float("nan")], [1, 2, 3, 4, 5, 6])
    assert r.n == 4
    const = spearman([1, 1, 1, 1], [1, 2, 3, 4])
    assert const.rho is None and "constant" in const.note
    with pytest.raises(StatsError, match="differ in length"):
        spearman([1, 2], [1])


def test_label_shows_rho_ci_n_and_p():
    r = SpearmanResult(12, 0.5, 0.1, 0.8, 0.04, "t approximation")
    assert r.label() == "rho = 0.50 [95% CI 0.10 to 0.80], n = 12, p = 0.04 (t approximation)"
