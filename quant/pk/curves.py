"""Mono- and bi-exponential fits of a time-activity curve, and the AICc choice between them.

Model: C(t) = sum_i A_i exp(-k_i t) with t in hours after injection. Fits minimise the squared residuals of
ln C (a proportional error model: every sample has the same relative noise, which suits counts-based PET and
well-counter data spanning a decade or more). The mono-exponential fit is the exact log-linear least-squares
line (its rate may be negative for a rising curve); the bi-exponential fit is bounded (A_i > 0, k_i > 0) and
started from curve stripping and a small grid, keeping the best. AICc (Hurvich and Tsai 1989) on the same
log residuals: n ln(RSS/n) + 2p + 2p(p+1)/(n-p-1), p = 2 (mono) or 4 (bi); it needs n >= p + 2 points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from quant.pk.errors import PkInputError

MIN_POINTS = 3
MIN_POINTS_BI = 5  # four parameters and at least one degree of freedom
# Floor of the residual sum of squares (relative error 1e-9 per point) so exact curves get a finite AICc.
RSS_FLOOR_PER_POINT = 1e-18


def validate(times_h: Sequence[float], values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted float arrays; refuses fewer than 3 points, negative or repeated times, non-positive values."""
    t = np.asarray(list(times_h), dtype=float)
    y = np.asarray(list(values), dtype=float)
    if t.shape != y.shape or t.ndim != 1:
        raise PkInputError("times and values must be two lists of the same length")
    if len(t) < MIN_POINTS:
        raise PkInputError(f"at least {MIN_POINTS} points are needed for a fit; got {len(t)}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise PkInputError("times and values must be finite numbers")
    if np.any(t < 0):
        raise PkInputError(f"negative time {float(t[t < 0][0]):g} h: times are hours after injection (>= 0)")
    if np.any(y <= 0):
        raise PkInputError(
            f"non-positive value {float(y[y <= 0][0]):g}: activity values must be > 0 (log-down AUC and fits)"
        )
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    if np.any(np.diff(t) == 0):
        raise PkInputError(f"two samples at {float(t[1:][np.diff(t) == 0][0]):g} h: give one value per time")
    return t, y


@dataclass(frozen=True)
class ExpFit:
    """C(t) = sum A_i exp(-k_i t); rates ordered fastest first, so the last one is the terminal phase."""

    model: str
    amplitudes: tuple[float, ...]
    rates_per_h: tuple[float, ...]
    rss_log: float
    n: int

    @property
    def n_params(self) -> int:
        return 2 * len(self.rates_per_h)

    @property
    def terminal_rate(self) -> float:
        return self.rates_per_h[-1]

    @property
    def intercept(self) -> float:
        return float(sum(self.amplitudes))

    def predict(self, t: np.ndarray | float) -> np.ndarray:
        t_arr = np.asarray(t, dtype=float)
        return sum(a * np.exp(-k * t_arr) for a, k in zip(self.amplitudes, self.rates_per_h, strict=True))

    def half_lives_h(self) -> list[float | None]:
        return [math.log(2.0) / k if k > 0 else None for k in self.rates_per_h]

    def aicc(self) -> float | None:
        return aicc(self.rss_log, self.n, self.n_params)


def aicc(rss: float, n: int, p: int) -> float | None:
    """Corrected Akaike criterion; None when n - p - 1 <= 0 (too few points for the penalty)."""
    if n - p - 1 <= 0:
        return None
    rss = max(rss, RSS_FLOOR_PER_POINT * n)
    return n * math.log(rss / n) + 2 * p + 2 * p * (p + 1) / (n - p - 1)


def r_squared(y: np.ndarray, predicted: np.ndarray) -> float:
    """1 - SS_res/SS_tot on the values as given (linear scale)."""
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum((y - predicted) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)


def _loglinear(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(A, k) of the least-squares line ln y = ln A - k t."""
    slope, intercept = np.polyfit(t, np.log(y), 1)
    return float(math.exp(intercept)), float(-slope)


def fit_mono(t: np.ndarray, y: np.ndarray) -> ExpFit:
    amplitude, rate = _loglinear(t, y)
    resid = np.log(y) - (math.log(amplitude) - rate * t)
    return ExpFit("mono", (amplitude,), (rate,), float(np.sum(resid**2)), len(t))


def _bi_residuals(params: np.ndarray, t: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    a1, k1, a2, k2 = np.exp(params)
    model = a1 * np.exp(-k1 * t) + a2 * np.exp(-k2 * t)
    return np.log(np.maximum(model, 1e-300)) - log_y


def _starts(t: np.ndarray, y: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Curve stripping (terminal line through the later half, fast line through what is left) plus a grid."""
    n = len(t)
    late = max(2, n // 2)
    a2, k2 = _loglinear(t[-late:], y[-late:])
    k2 = k2 if k2 > 1e-4 else 1e-3
    starts = []
    residual = y[: n - late] - a2 * np.exp(-k2 * t[: n - late])
    keep = residual > 0
    if keep.sum() >= 2:
        a1, k1 = _loglinear(t[: n - late][keep], residual[keep])
        if k1 > k2 and a1 > 0:
            starts.append((a1, k1, a2, k2))
    y0 = float(y[0])
    for factor in (3.0, 10.0, 30.0, 100.0):
        starts.append((max(y0 - a2, 0.1 * y0), k2 * factor, a2, k2))
    return starts


def fit_bi(t: np.ndarray, y: np.ndarray) -> ExpFit:
    if len(t) < MIN_POINTS_BI:
        raise PkInputError(
            f"a bi-exponential fit needs at least {MIN_POINTS_BI} points (4 parameters); got {len(t)}"
        )
    log_y = np.log(y)
    best = None
    for start in _starts(t, y):
        x0 = np.log(np.maximum(np.asarray(start, dtype=float), 1e-8))
        try:
            solution = least_squares(
                _bi_residuals,
                x0,
                args=(t, log_y),
                bounds=(np.log([1e-12, 1e-6, 1e-12, 1e-7]), np.log([1e12, 1e3, 1e12, 1e3])),
                x_scale="jac",
                max_nfev=2000,
            )
        except ValueError:
            continue
        if best is None or solution.cost < best.cost:
            best = solution
    if best is None:
        raise PkInputError("the bi-exponential fit did not converge on these points")
    a1, k1, a2, k2 = (float(v) for v in np.exp(best.x))
    if k1 < k2:
        a1, k1, a2, k2 = a2, k2, a1, k1
    return ExpFit("bi", (a1, a2), (k1, k2), float(2.0 * best.cost), len(t))


def degenerate_bi(fit: ExpFit) -> str | None:
    """Why a bi-exponential fit is really one phase (equal rates or a negligible amplitude), else None."""
    (a1, a2), (k1, k2) = fit.amplitudes, fit.rates_per_h
    if k1 / k2 < 1.05:
        return f"the two phases have nearly equal rates ({k1:.4g} and {k2:.4g} per h)"
    if min(a1, a2) < 1e-3 * (a1 + a2):
        return "one phase has a negligible amplitude (< 0.1 % of C(0))"
    return None


def choose(t: np.ndarray, y: np.ndarray) -> tuple[ExpFit, str]:
    """Mono or bi by AICc (lower wins); says why."""
    mono = fit_mono(t, y)
    if len(t) < 6:
        return mono, (
            f"auto chose mono: AICc of a bi-exponential needs n >= 6 points (n - p - 1 > 0 with p = 4); n = {len(t)}"
        )
    bi = fit_bi(t, y)
    mono_aicc, bi_aicc = mono.aicc(), bi.aicc()
    assert mono_aicc is not None and bi_aicc is not None  # n >= 6
    if (why := degenerate_bi(bi)) is not None:
        return mono, f"auto chose mono: the bi-exponential fit is degenerate ({why})"
    if bi_aicc < mono_aicc:
        return bi, f"auto chose bi: AICc {bi_aicc:.2f} (bi) < {mono_aicc:.2f} (mono); lower AICc wins"
    return mono, f"auto chose mono: AICc {mono_aicc:.2f} (mono) <= {bi_aicc:.2f} (bi); lower AICc wins"
