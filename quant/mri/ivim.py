"""IVIM: S(b) = S0 [f exp(-b D*) + (1 - f) exp(-b D)], segmented and full bounded fits.

Units: b in s/mm^2, D and D* in mm^2/s. Signals are normalised to the mean at the lowest b before
fitting, so the S0 bounds (0.7-1.3) are relative; S0 is returned in the caller's signal units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from quant.errors import QuantInputError
from quant.mri.diffusion import reference_signal, validate_b_signal

FloatArray = NDArray[np.float64]

# (S0 relative, f, D*, D): bounds from the imaging domain notes.
LOWER = np.array([0.7, 0.0, 0.005, 0.0])
UPPER = np.array([1.3, 1.0, 0.2, 0.005])
DSTAR_STARTS = (0.01, 0.03, 0.1)


@dataclass(frozen=True)
class IVIMResult:
    """IVIM parameters: f (fraction), D and D* in mm^2/s, S0 in signal units; method says which fit."""

    f: float
    D_mm2_s: float
    Dstar_mm2_s: float
    S0: float
    method: str

    def as_dict(self) -> dict[str, float | str]:
        return {
            "f": self.f,
            "D_mm2_s": self.D_mm2_s,
            "Dstar_mm2_s": self.Dstar_mm2_s,
            "S0": self.S0,
            "method": self.method,
        }


def ivim_signal(b: ArrayLike, s0: float, f: float, dstar: float, d: float) -> FloatArray:
    """Bi-exponential IVIM signal."""
    bb = np.asarray(b, dtype=float)
    return s0 * (f * np.exp(-bb * dstar) + (1 - f) * np.exp(-bb * d))


def _segmented_normalised(b: FloatArray, s: FloatArray, b_threshold: float) -> FloatArray:
    """Segmented fit on normalised signal: D (log-linear, b >= threshold), then f, then D*."""
    high = b >= b_threshold
    if np.unique(b[high]).size < 2 or np.unique(b[~high]).size < 1:
        raise QuantInputError(f"segmented IVIM needs >= 2 b-values >= {b_threshold} and some below it")
    slope, intercept = np.polyfit(b[high], np.log(s[high]), 1)
    d = float(np.clip(-slope, LOWER[3], UPPER[3]))
    s0 = float(np.clip(s[b == b.min()].mean(), LOWER[0], UPPER[0]))
    f = float(np.clip(1.0 - np.exp(intercept) / s0, LOWER[1], UPPER[1]))
    low = ~high

    def resid(x: FloatArray) -> FloatArray:
        return ivim_signal(b[low], s0, f, x[0], d) - s[low]

    best = min(
        (least_squares(resid, [x0], bounds=(LOWER[2], UPPER[2])) for x0 in DSTAR_STARTS), key=lambda r: r.cost
    )
    return np.array([s0, f, float(best.x[0]), d])


def fit_ivim_segmented(b_s_mm2: ArrayLike, signal: ArrayLike, b_threshold: float = 200.0) -> IVIMResult:
    """Segmented IVIM fit: D from b >= b_threshold, f from the intercept, then D* with D and f fixed."""
    b, s = validate_b_signal(b_s_mm2, signal, min_distinct=4)
    ref = reference_signal(b, s)
    p = _segmented_normalised(b, s / ref, b_threshold)
    return IVIMResult(float(p[1]), float(p[3]), float(p[2]), float(p[0] * ref), "segmented")


def fit_ivim(b_s_mm2: ArrayLike, signal: ArrayLike, b_threshold: float = 200.0) -> IVIMResult:
    """Full bounded 4-parameter IVIM fit started from the segmented fit (plus a few D* starts)."""
    b, s = validate_b_signal(b_s_mm2, signal, min_distinct=4)
    ref = reference_signal(b, s)
    y = s / ref
    seg = _segmented_normalised(b, y, b_threshold)
    starts = [seg] + [np.array([seg[0], max(seg[1], 0.1), ds, seg[3]]) for ds in DSTAR_STARTS]
    best = None
    for x0 in starts:
        res = least_squares(
            lambda x: ivim_signal(b, *x) - y,
            np.clip(x0, LOWER, UPPER),
            bounds=(LOWER, UPPER),
            x_scale=np.array([1.0, 0.1, 0.01, 0.001]),
            xtol=1e-12,
            ftol=1e-12,
            gtol=1e-12,
        )
        if best is None or res.cost < best.cost:
            best = res
    s0, f, dstar, d = best.x
    return IVIMResult(float(f), float(d), float(dstar), float(s0 * ref), "full_bounded")
