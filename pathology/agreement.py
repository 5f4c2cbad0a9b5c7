"""Agreement between two pathologists' scores of one marker (no Django).

- Ordinal scores (semi-quantitative 0/1+/2+/3+): Cohen's weighted kappa with linear weights
  w_ij = 1 - |i - j| / (k - 1) (Cohen 1968): kappa_w = (p_o - p_e) / (1 - p_e) with p_o = sum w_ij p_ij and
  p_e = sum w_ij p_i. p_.j over the k ordered categories. Nominal categories (immune phenotype): unweighted.
- Continuous values (densities, percentages, TPS, CPS, H-score): ICC(A,1), two-way random effects, absolute
  agreement, single rater (Shrout & Fleiss 1979 ICC(2,1); McGraw & Wong 1996):
  (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n); and Bland-Altman bias (mean of scorer 2 - scorer 1)
  with 95 % limits of agreement bias -/+ 1.96 SD of the differences (Bland & Altman 1986).
Fewer than 3 pairs: no statistic, only n.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_PAIRS = 3


@dataclass(frozen=True)
class Agreement:
    n: int
    statistic: str
    value: float | None
    bias: float | None = None
    loa_low: float | None = None
    loa_high: float | None = None
    note: str = ""


def weighted_kappa(
    a: Sequence[object], b: Sequence[object], categories: Sequence[object], *, linear: bool = True
) -> float | None:
    """Cohen's kappa of two raters over ordered `categories`; linear weights, or none (nominal) if not `linear`."""
    k = len(categories)
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        table[index[x], index[y]] += 1
    n = table.sum()
    if n == 0:
        return None
    p = table / n
    i, j = np.indices((k, k))
    w = 1.0 - np.abs(i - j) / (k - 1) if linear and k > 1 else (i == j).astype(float)
    p_o = float((w * p).sum())
    p_e = float((w * np.outer(p.sum(axis=1), p.sum(axis=0))).sum())
    if p_e >= 1.0:
        return None  # both raters used one category only: kappa undefined
    return (p_o - p_e) / (1.0 - p_e)


def icc_a1(ratings: np.ndarray) -> float | None:
    """ICC(A,1) of an n subjects x k raters table (two-way random, absolute agreement, single rater)."""
    y = np.asarray(ratings, dtype=float)
    n, k = y.shape
    if n < 2 or k < 2:
        return None
    grand = y.mean()
    ss_rows = k * float(((y.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((y.mean(axis=0) - grand) ** 2).sum())
    ss_total = float(((y - grand) ** 2).sum())
    ss_err = ss_total - ss_rows - ss_cols
    msr, msc, mse = ss_rows / (n - 1), ss_cols / (k - 1), ss_err / ((n - 1) * (k - 1))
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    return None if denom == 0 else (msr - mse) / denom


def bland_altman(first: Sequence[float], second: Sequence[float]) -> tuple[float, float, float]:
    """(bias, lower, upper): mean of second - first and its 95 % limits of agreement."""
    d = np.asarray(second, dtype=float) - np.asarray(first, dtype=float)
    bias = float(d.mean())
    sd = float(d.std(ddof=1)) if len(d) > 1 else 0.0
    return bias, bias - 1.96 * sd, bias + 1.96 * sd


def ordinal(
    pairs: list[tuple[object, object]], categories: Sequence[object], *, nominal: bool = False
) -> Agreement:
    name = "Cohen's kappa" if nominal else "Weighted kappa (linear)"
    if len(pairs) < MIN_PAIRS:
        return Agreement(len(pairs), name, None, note="fewer than 3 pairs")
    value = weighted_kappa([p[0] for p in pairs], [p[1] for p in pairs], categories, linear=not nominal)
    return Agreement(len(pairs), name, value, note="" if value is not None else "one category only")


def continuous(pairs: list[tuple[float, float]]) -> Agreement:
    if len(pairs) < MIN_PAIRS:
        return Agreement(len(pairs), "ICC(A,1)", None, note="fewer than 3 pairs")
    first = [p[0] for p in pairs]
    second = [p[1] for p in pairs]
    bias, low, high = bland_altman(first, second)
    return Agreement(len(pairs), "ICC(A,1)", icc_a1(np.column_stack([first, second])), bias, low, high)
