"""Semi-quantitative DCE parameters (model-free), each returned with its definition as text."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant.errors import QuantInputError

FloatArray = NDArray[np.float64]

SEMIQUANT_DEFINITIONS = {
    "arrival_s": (
        "bolus arrival time (s): given by the caller, or the time of the last frame before the first frame "
        "whose concentration exceeds the baseline mean + max(3 SD of the baseline frames, 10% of the "
        "peak enhancement)"
    ),
    "iAUC60_mM_s": "integral of C(t) from arrival to arrival + 60 s (trapezoid on the piecewise-linear curve), mM s",
    "iAUC90_mM_s": "integral of C(t) from arrival to arrival + 90 s (trapezoid on the piecewise-linear curve), mM s",
    "time_to_peak_s": "time of the highest concentration sample minus the arrival time, s",
    "peak_mM": "highest concentration sample, mM",
    "initial_slope_mM_per_s": (
        "largest slope between consecutive frames from arrival up to the peak, (C[i+1]-C[i])/(t[i+1]-t[i]), mM/s"
    ),
    "washout_fraction": "(C_peak - C_last) / C_peak; positive means wash-out, negative continued uptake",
}


def integrate_between(t: FloatArray, c: FloatArray, t_start: float, t_end: float) -> float:
    """Exact integral of the linear interpolant of (t, c) from t_start to t_end."""
    inner = (t > t_start) & (t < t_end)
    tt = np.r_[t_start, t[inner], t_end]
    cc = np.r_[np.interp(t_start, t, c), c[inner], np.interp(t_end, t, c)]
    return float(np.sum(0.5 * (cc[1:] + cc[:-1]) * np.diff(tt)))


def detect_arrival(t: FloatArray, c: FloatArray, n_baseline: int) -> float:
    """Bolus arrival time by the threshold rule in SEMIQUANT_DEFINITIONS['arrival_s']."""
    base = c[:n_baseline]
    mu = float(base.mean())
    sd = float(base.std(ddof=1)) if n_baseline > 1 else 0.0
    threshold = mu + max(3.0 * sd, 0.1 * (float(c.max()) - mu))
    above = np.flatnonzero(c > threshold)
    if above.size == 0 or above[0] == 0:
        raise QuantInputError("cannot find bolus arrival: no enhancement above the baseline")
    return float(t[above[0] - 1])


def semi_quantitative(
    t_s: ArrayLike, ct_mM: ArrayLike, *, arrival_s: float | None = None, n_baseline: int = 3
) -> dict[str, Any]:
    """iAUC60, iAUC90, time to peak, peak, initial slope and wash-out fraction of one curve."""
    t = np.asarray(t_s, dtype=float)
    c = np.asarray(ct_mM, dtype=float)
    if t.ndim != 1 or c.shape != t.shape or t.size < 3:
        raise QuantInputError("t_s and ct_mM must be 1-D arrays of the same length (>= 3)")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(c))) or np.any(np.diff(t) <= 0):
        raise QuantInputError("t_s must be increasing and all values finite")
    t0 = detect_arrival(t, c, n_baseline) if arrival_s is None else float(arrival_s)
    if not t[0] <= t0 < t[-1]:
        raise QuantInputError(f"arrival time {t0} s is outside the acquisition")
    after = t >= t0
    i_peak = int(np.flatnonzero(after)[0] + np.argmax(c[after]))
    seg = np.arange(max(int(np.searchsorted(t, t0, side="right")) - 1, 0), i_peak)
    slopes = (c[seg + 1] - c[seg]) / (t[seg + 1] - t[seg])
    peak = float(c[i_peak])
    values: dict[str, Any] = {
        "arrival_s": t0,
        "iAUC60_mM_s": integrate_between(t, c, t0, t0 + 60.0) if t0 + 60.0 <= t[-1] else None,
        "iAUC90_mM_s": integrate_between(t, c, t0, t0 + 90.0) if t0 + 90.0 <= t[-1] else None,
        "time_to_peak_s": float(t[i_peak] - t0),
        "peak_mM": peak,
        "initial_slope_mM_per_s": float(slopes.max()) if slopes.size else 0.0,
        "washout_fraction": float((peak - c[-1]) / peak) if peak > 0 else None,
    }
    return {**values, "definitions": dict(SEMIQUANT_DEFINITIONS)}
