"""Diffusion kurtosis (single direction): S = S0 exp(-b D + b^2 D^2 K / 6), K >= 0, D > 0.

The model is only valid for b < 3/(D K) (beyond it the fitted signal would rise with b);
fits whose data reach past that limit are refused with ModelValidityError.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from quant.errors import ModelValidityError
from quant.mri.diffusion import reference_signal, validate_b_signal

FloatArray = NDArray[np.float64]

# (S0 relative, D mm^2/s, K)
LOWER = np.array([0.0, 1e-7, 0.0])
UPPER = np.array([np.inf, 0.01, 10.0])


@dataclass(frozen=True)
class DKIResult:
    """Apparent diffusion D (mm^2/s), kurtosis K (dimensionless), S0 in signal units."""

    D_mm2_s: float
    K: float
    S0: float
    b_limit_s_mm2: float

    def as_dict(self) -> dict[str, float | None]:
        limit = self.b_limit_s_mm2 if np.isfinite(self.b_limit_s_mm2) else None
        return {"D_mm2_s": self.D_mm2_s, "K": self.K, "S0": self.S0, "b_limit_s_mm2": limit}


def dki_signal(b: ArrayLike, s0: float, d: float, k: float) -> FloatArray:
    """Kurtosis signal representation."""
    bb = np.asarray(b, dtype=float)
    return s0 * np.exp(-bb * d + bb**2 * d**2 * k / 6.0)


def validity_limit(d: float, k: float) -> float:
    """Largest b (s/mm^2) for which the DKI signal still decreases: 3/(D K); infinite for K = 0."""
    product = float(d) * float(k)
    return float("inf") if not product > 0 else 3.0 / product  # a denormal K can make D*K underflow to 0


def _initial(b: FloatArray, y: FloatArray) -> FloatArray:
    c2, c1, c0 = np.polyfit(b, np.log(y), 2)
    d = max(-c1, 1e-4)
    k = 6.0 * c2 / d**2
    return np.clip(np.array([np.exp(c0), d, k]), LOWER, np.array([1e6, 0.01, 10.0]))


def fit_dki(b_s_mm2: ArrayLike, signal: ArrayLike) -> DKIResult:
    """Constrained fit of D and K; raises ModelValidityError if max(b) exceeds 3/(D K)."""
    b, s = validate_b_signal(b_s_mm2, signal, min_distinct=3)
    ref = reference_signal(b, s)
    y = s / ref
    x0 = _initial(b, y)
    res = least_squares(
        lambda x: dki_signal(b, *x) - y,
        x0,
        bounds=(LOWER, UPPER),
        x_scale=np.array([1.0, 1e-3, 1.0]),
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
    )
    s0, d, k = (float(v) for v in res.x)
    limit = validity_limit(d, k)
    if b.max() > limit:
        raise ModelValidityError(
            f"b = {b.max():g} s/mm2 exceeds the DKI validity limit 3/(D K) = {limit:.0f} s/mm2 "
            f"(D = {d:.3g} mm2/s, K = {k:.3g}); drop the highest b-values"
        )
    return DKIResult(d, k, s0 * ref, limit)
