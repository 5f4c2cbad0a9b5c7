"""Arterial input functions: Parker 2006 and Weinmann population AIFs, measured AIFs, delay shifts.

All public functions take time in seconds and return concentrations in mM.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant.errors import QuantInputError

FloatArray = NDArray[np.float64]

# Parker et al. 2006 (MRM 56:993), whole blood, mM, t in minutes.
PARKER_2006 = {
    "A1": 0.809,
    "A2": 0.330,
    "T1": 0.17046,
    "T2": 0.365,
    "sigma1": 0.0563,
    "sigma2": 0.132,
    "alpha": 1.050,
    "beta": 0.1685,
    "s": 38.078,
    "tau": 0.483,
}

# Weinmann 1984 as parameterised by Tofts and Kermode 1991: plasma, dose 0.1 mmol/kg.
WEINMANN = {"dose_mmol_kg": 0.1, "a1_kg_l": 3.99, "a2_kg_l": 4.78, "m1_per_min": 0.144, "m2_per_min": 0.0111}

DEFAULT_HCT = 0.42


def _as_time(t_s: ArrayLike) -> FloatArray:
    t = np.asarray(t_s, dtype=float)
    if t.ndim != 1 or t.size < 2:
        raise QuantInputError("time must be a 1-D array with at least 2 samples")
    if not np.all(np.isfinite(t)):
        raise QuantInputError("time contains non-finite values")
    if np.any(np.diff(t) <= 0):
        raise QuantInputError("time must be strictly increasing")
    return t


def parker_blood_mM(t_min: ArrayLike) -> FloatArray:
    """Parker 2006 whole-blood AIF (mM) at times in minutes after bolus arrival."""
    p = PARKER_2006
    t = np.asarray(t_min, dtype=float)
    out = np.zeros_like(t)
    for a, tn, sg in ((p["A1"], p["T1"], p["sigma1"]), (p["A2"], p["T2"], p["sigma2"])):
        out += a / (sg * np.sqrt(2 * np.pi)) * np.exp(-((t - tn) ** 2) / (2 * sg**2))
    out += p["alpha"] * np.exp(-p["beta"] * t) / (1 + np.exp(-p["s"] * (t - p["tau"])))
    return out


def blood_to_plasma(cb: ArrayLike, hct: float = DEFAULT_HCT) -> FloatArray:
    """Plasma concentration Cp = Cb / (1 - Hct)."""
    if not 0.0 <= hct < 1.0:
        raise QuantInputError(f"haematocrit must be in [0, 1), got {hct}")
    return np.asarray(cb, dtype=float) / (1.0 - hct)


def parker_plasma_mM(t_s: ArrayLike, delay_s: float = 0.0, hct: float = DEFAULT_HCT) -> FloatArray:
    """Parker 2006 AIF as plasma concentration; zero before the arrival time delay_s."""
    t = np.asarray(t_s, dtype=float)
    t_min = (t - delay_s) / 60.0
    cb = np.where(t_min >= 0, parker_blood_mM(np.maximum(t_min, 0.0)), 0.0)
    return blood_to_plasma(cb, hct)


def weinmann_plasma_mM(t_s: ArrayLike, delay_s: float = 0.0, dose_mmol_kg: float | None = None) -> FloatArray:
    """Weinmann bi-exponential plasma AIF (Tofts-Kermode 1991 constants); zero before delay_s."""
    w = WEINMANN
    dose = w["dose_mmol_kg"] if dose_mmol_kg is None else dose_mmol_kg
    t_min = (np.asarray(t_s, dtype=float) - delay_s) / 60.0
    cp = dose * (
        w["a1_kg_l"] * np.exp(-w["m1_per_min"] * t_min) + w["a2_kg_l"] * np.exp(-w["m2_per_min"] * t_min)
    )
    return np.where(t_min >= 0, cp, 0.0)


def shift_aif(t_s: ArrayLike, cp: ArrayLike, delay_s: float) -> FloatArray:
    """Delay a sampled AIF by delay_s seconds (linear interpolation; the first value before the start)."""
    t = _as_time(t_s)
    c = np.asarray(cp, dtype=float)
    if c.shape[-1] != t.size:
        raise QuantInputError(f"AIF has {c.shape[-1]} samples but time has {t.size}")
    if delay_s == 0.0:
        return c.copy()
    return np.interp(t - delay_s, t, c, left=c[0], right=c[-1])


def measured_aif(
    t_s: ArrayLike, cb_or_cp: ArrayLike, *, is_blood: bool, hct: float = DEFAULT_HCT
) -> FloatArray:
    """Validate a measured AIF and return it as plasma concentration."""
    t = _as_time(t_s)
    c = np.asarray(cb_or_cp, dtype=float)
    if c.shape != t.shape:
        raise QuantInputError(f"AIF has shape {c.shape} but time has shape {t.shape}")
    if not np.all(np.isfinite(c)):
        raise QuantInputError("AIF contains non-finite values")
    return blood_to_plasma(c, hct) if is_blood else c.copy()
