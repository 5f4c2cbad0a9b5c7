"""Spearman rank correlation with an honest small-n report (no Django).

- rho: Pearson correlation of average ranks (ties share the mean of the ranks they span).
- 95 % CI: Fisher z transform with SE = sqrt(1.06 / (n - 3)) (Fieller, Hartley & Pearson 1957),
  z = atanh(rho), CI = tanh(z -/+ 1.96 * SE). Not reported for n < 4 or |rho| = 1.
- p-value (two-sided): exact permutation distribution of rho for n <= 9 (all n! orderings of the
  second variable's ranks, ties kept), else the t approximation t = rho * sqrt((n - 2) / (1 - rho^2))
  with n - 2 degrees of freedom. Not reported for n < 4.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

MIN_N_FOR_INFERENCE = 4
EXACT_MAX_N = 9
Z_975 = 1.959963984540054
METHOD_TEXT = (
    "Spearman rho on average ranks (ties averaged); 95 % CI by Fisher z with SE = sqrt(1.06/(n-3)) "
    "(Fieller, Hartley & Pearson 1957); two-sided p by exact permutation for n <= 9, else t approximation "
    "with n-2 df; no CI or p-value for n < 4."
)


class StatsError(ValueError):
    """Input that cannot be correlated, with a readable message."""


@dataclass(frozen=True)
class SpearmanResult:
    n: int
    rho: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_method: str
    note: str = ""

    def label(self) -> str:
        """One-line text for a plot panel: always n; rho, CI and p only where defined."""
        if self.rho is None:
            return f"n = {self.n}" + (f"; {self.note}" if self.note else "")
        text = f"rho = {self.rho:.2f}"
        if self.ci_low is not None:
            text += f" [95% CI {self.ci_low:.2f} to {self.ci_high:.2f}]"
        text += f", n = {self.n}"
        if self.p_value is not None:
            text += f", p = {self.p_value:.3g} ({self.p_method})"
        if self.note:
            text += f"; {self.note}"
        return text


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n; tied values get the mean of the ranks they occupy."""
    a = np.asarray(values, dtype=float)
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(len(a), dtype=float)
    sorted_a = a[order]
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and sorted_a[j + 1] == sorted_a[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def _pearson(rx: np.ndarray, ry: np.ndarray) -> float | None:
    dx, dy = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    if denom == 0.0:
        return None
    return float((dx * dy).sum()) / denom


def fisher_ci(rho: float, n: int) -> tuple[float, float] | None:
    """95 % CI of Spearman rho by Fisher z with the Fieller SE; None when undefined."""
    if n < MIN_N_FOR_INFERENCE or abs(rho) >= 1.0:
        return None
    z = math.atanh(rho)
    se = math.sqrt(1.06 / (n - 3))
    return math.tanh(z - Z_975 * se), math.tanh(z + Z_975 * se)


def exact_permutation_p(rx: np.ndarray, ry: np.ndarray, rho: float) -> float:
    """Two-sided exact p: share of all orderings of ry with |rho| at least the observed |rho|."""
    n = len(rx)
    dx = rx - rx.mean()
    dy = ry - ry.mean()
    scale = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int8)
    rhos = (dy[perms] @ dx) / scale
    return float(np.mean(np.abs(rhos) >= abs(rho) - 1e-12))


def t_approx_p(rho: float, n: int) -> float:
    if abs(rho) >= 1.0:
        return 0.0
    t = rho * math.sqrt((n - 2) / (1.0 - rho * rho))
    return float(2.0 * sps.t.sf(abs(t), n - 2))


def spearman(x: Sequence[float], y: Sequence[float]) -> SpearmanResult:
    """Spearman rho, 95 % CI and p with n; pairs with a missing value are dropped first."""
    if len(x) != len(y):
        raise StatsError(f"x and y differ in length ({len(x)} vs {len(y)}).")
    pairs = [(float(a), float(b)) for a, b in zip(x, y) if a is not None and b is not None]
    pairs = [(a, b) for a, b in pairs if not (math.isnan(a) or math.isnan(b))]
    n = len(pairs)
    if n < 3:
        return SpearmanResult(n, None, None, None, None, "", "too few pairs for a correlation")
    rx = average_ranks([a for a, _ in pairs])
    ry = average_ranks([b for _, b in pairs])
    rho = _pearson(rx, ry)
    if rho is None:
        return SpearmanResult(n, None, None, None, None, "", "one variable is constant")
    rho = max(-1.0, min(1.0, rho))
    if n < MIN_N_FOR_INFERENCE:
        return SpearmanResult(n, rho, None, None, None, "", "n < 4: no CI or p-value")
    ci = fisher_ci(rho, n)
    if n <= EXACT_MAX_N:
        p, method = exact_permutation_p(rx, ry, rho), "exact permutation"
    else:
        p, method = t_approx_p(rho, n), "t approximation"
    note = "" if ci else "|rho| = 1: Fisher z CI undefined"
    return SpearmanResult(n, rho, ci[0] if ci else None, ci[1] if ci else None, p, method, note)
