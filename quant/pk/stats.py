"""Paired comparison of baseline and on-treatment values: Wilcoxon signed-rank test (scipy) with the
Hodges-Lehmann shift and its exact distribution-free confidence interval (Hollander, Wolfe and Chicken,
Nonparametric Statistical Methods, 3rd ed., section 3.3).

Differences are on-treatment minus baseline. Zero differences are dropped (Wilcoxon's convention), so n is
the number of non-zero pairs. The CI is [W(d), W(M+1-d)] of the M = n(n+1)/2 sorted Walsh averages, with d
the largest integer such that P(T+ <= d-1) <= alpha/2 under the exact null distribution of T+; its achieved
level 1 - 2 P(T+ <= d-1) is reported (it is >= the nominal level). No CI when n is too small (n < 6 at 95 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PairedComparison:
    n: int
    median_baseline: float | None
    median_on_treatment: float | None
    hodges_lehmann: float | None
    ci_low: float | None
    ci_high: float | None
    ci_level: float | None
    statistic: float | None
    p_value: float | None
    method: str


def signed_rank_null_counts(n: int) -> np.ndarray:
    """counts[s] = number of the 2^n sign patterns whose positive-rank sum T+ equals s."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=object)
    counts[0] = 1
    for rank in range(1, n + 1):
        shifted = np.zeros_like(counts)
        shifted[rank:] = counts[:-rank]
        counts = counts + shifted
    return counts


def hodges_lehmann_ci(
    diffs: Sequence[float], level: float = 0.95
) -> tuple[float, float | None, float | None, float | None]:
    """(estimate, low, high, achieved level) of the median shift from paired differences."""
    d = np.asarray(diffs, dtype=float)
    n = len(d)
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    estimate = float(np.median(walsh))
    counts = signed_rank_null_counts(n)
    cdf = np.cumsum(counts) / float(2**n)
    alpha_half = (1.0 - level) / 2.0
    # d_crit = number of lower-tail values s (0..d-1) with P(T+ <= s) <= alpha/2.
    d_crit = int(np.sum(cdf.astype(float) <= alpha_half + 1e-12))
    if d_crit == 0:
        return estimate, None, None, None
    m = len(walsh)
    achieved = 1.0 - 2.0 * float(cdf[d_crit - 1])
    return estimate, float(walsh[d_crit - 1]), float(walsh[m - d_crit]), achieved


def paired_comparison(
    baseline: Sequence[float], on_treatment: Sequence[float], level: float = 0.95
) -> PairedComparison:
    b = np.asarray(baseline, dtype=float)
    o = np.asarray(on_treatment, dtype=float)
    diffs = o - b
    nonzero = diffs[diffs != 0]
    n = len(nonzero)
    med_b = float(np.median(b)) if len(b) else None
    med_o = float(np.median(o)) if len(o) else None
    if n == 0:
        return PairedComparison(n, med_b, med_o, None, None, None, None, None, None, "no non-zero pairs")
    estimate, low, high, achieved = hodges_lehmann_ci(nonzero, level)
    statistic = p_value = None
    method = "Wilcoxon signed-rank (scipy, two-sided); Hodges-Lehmann shift with exact CI"
    if n >= 2:
        test = stats.wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided", method="auto")
        statistic, p_value = float(test.statistic), float(test.pvalue)
    if low is None:
        method += f"; no {level:.0%} CI with n = {n}"
    return PairedComparison(n, med_b, med_o, estimate, low, high, achieved, statistic, p_value, method)
