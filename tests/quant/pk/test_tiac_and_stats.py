"""TIAC against a hand calculation and analytic integrals; the paired statistics against exact tables."""

from __future__ import annotations

import itertools
import math

import pytest

from quant.pk.errors import PkInputError
from quant.pk.stats import hodges_lehmann_ci, paired_comparison, signed_rank_null_counts
from quant.pk.tiac import tiac

LAMBDA = math.log(2.0) / 78.41


def test_trapezoid_tiac_matches_the_hand_calculation():
    # Liver 10 %, 9 %, 6 % of the injected activity (decay-corrected) at 24, 48, 144 h.
    # Decay factors 2^(-t/78.41): 0.80884, 0.65421, 0.28000 -> a = 0.080884, 0.058879, 0.016800.
    # Trapezoids: 0-24 h 0.5*(0 + 0.080884)*24 = 0.97061; 24-48 h 0.5*(0.080884 + 0.058879)*24 = 1.67716;
    # 48-144 h 0.5*(0.058879 + 0.016800)*96 = 3.63259; tail 0.016800 / 0.0088400 = 1.90044. Sum 8.18080 h.
    result = tiac("Liver", [24.0, 48.0, 144.0], [0.10, 0.09, 0.06], "trapezoid")
    assert result.tiac_h == pytest.approx(8.18080, abs=2e-4)
    assert result.tail_h == pytest.approx(1.90044, abs=2e-4)
    assert result.method == "trapezoid" and "tail" in result.method_text


def test_mono_fit_tiac_is_the_analytic_integral_with_decay():
    k = math.log(2.0) / 60.0
    times = [24.0, 48.0, 96.0, 144.0]
    fractions = [0.2 * math.exp(-k * t) for t in times]
    result = tiac("Spleen", times, fractions, "mono_fit")
    assert result.tiac_h == pytest.approx(0.2 / (k + LAMBDA), rel=1e-9)


def test_tiac_refuses_fractions_above_one_and_too_few_points():
    with pytest.raises(PkInputError, match="<= 1"):
        tiac("Liver", [1.0, 2.0, 3.0], [10.0, 9.0, 6.0])
    with pytest.raises(PkInputError, match="at least 3 points"):
        tiac("Liver", [1.0, 2.0], [0.1, 0.09])


def test_the_signed_rank_null_distribution_matches_brute_force():
    n = 6
    counts = signed_rank_null_counts(n)
    brute = [0] * len(counts)
    for signs in itertools.product((0, 1), repeat=n):
        brute[sum(rank for rank, s in zip(range(1, n + 1), signs, strict=True) if s)] += 1
    assert list(counts) == brute and sum(brute) == 2**n


def test_hodges_lehmann_ci_uses_the_exact_critical_value():
    # n = 8, two-sided 5 %: P(T+ <= 3) = 5/256 <= 0.025 < P(T+ <= 4) = 7/256, so d = 4 and the CI is
    # [W(4), W(33)] of the 36 sorted Walsh averages, achieved level 1 - 10/256 = 0.9609.
    diffs = [1.0, 2.0, 3.0, -1.0, 4.0, 5.0, 6.0, 7.0]
    walsh = sorted((diffs[i] + diffs[j]) / 2 for i in range(8) for j in range(i, 8))
    estimate, low, high, level = hodges_lehmann_ci(diffs)
    assert (low, high) == (walsh[3], walsh[32])
    assert estimate == pytest.approx(sorted(walsh)[17] / 2 + sorted(walsh)[18] / 2)
    assert level == pytest.approx(1 - 10 / 256)


def test_paired_comparison_reports_n_p_and_no_ci_when_too_few_pairs():
    result = paired_comparison([1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 4, 5, 6, 7, 8, 9.5])
    assert result.n == 8 and result.p_value == pytest.approx(2 / 256)  # exact: all differences positive
    assert result.ci_low is not None and result.ci_low > 0
    small = paired_comparison([1, 2, 3], [2, 3, 4.5])
    assert small.n == 3 and small.ci_low is None and "no 95% CI" in small.method
