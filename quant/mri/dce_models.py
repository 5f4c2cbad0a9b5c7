"""Tracer-kinetic forward models (Tofts, extended Tofts, 2CXM) with an exact exponential convolution.

The plasma input Cp is taken as piecewise linear between samples and convolved analytically with
exponential impulse responses: for each interval the contribution of the line segment is integrated
in closed form, so the result is exact for a piecewise-linear Cp whatever the sampling interval.
Times are in minutes inside this module; rate constants in /min; Fp in ml/100ml/min at the API.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.signal import lfilter

FloatArray = NDArray[np.float64]

_SERIES_X = 1e-3


def _segment_weights(k: FloatArray, dt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Exact weights (decay E, start weight A, end weight B) of one linear segment convolved with e^(-k t)."""
    x = k * dt
    e = np.exp(-x)
    small = x < _SERIES_X
    xs = np.where(small, 1.0, x)
    a_big = (1.0 - e - xs * e) / xs**2
    b_big = (1.0 - e) / xs - a_big
    a = dt * np.where(small, 0.5 - x / 3.0 + x**2 / 8.0, a_big)
    b = dt * np.where(small, 0.5 - x / 6.0 + x**2 / 24.0, b_big)
    return e, a, b


def _uniform_step(t: FloatArray) -> float | None:
    d = np.diff(t)
    return float(d[0]) if np.allclose(d, d[0], rtol=1e-6, atol=0) else None


def conv_exp(t_min: ArrayLike, cp: ArrayLike, k: ArrayLike) -> FloatArray:
    """Integral from t0 to t of Cp(u) exp(-k (t - u)) du at each sample, Cp piecewise linear.

    cp may be (T,) or (N, T); k a scalar or (N,) array. Returns (T,) or (N, T).
    """
    t = np.asarray(t_min, dtype=float)
    c = np.asarray(cp, dtype=float)
    kk = np.asarray(k, dtype=float)
    step = _uniform_step(t)
    if kk.ndim == 0 and step is not None:
        e, a, b = _segment_weights(kk, np.asarray(step))
        u = np.zeros_like(c)
        u[..., 1:] = a * c[..., :-1] + b * c[..., 1:]
        return lfilter([1.0], [1.0, -float(e)], u, axis=-1)
    return _conv_exp_loop(t, c, kk)


def _conv_exp_loop(t: FloatArray, c: FloatArray, k: FloatArray) -> FloatArray:
    """Time-stepping form of conv_exp, vectorised over voxels (k of shape (N,))."""
    dt = np.diff(t)
    kcol = k[..., None] if k.ndim else k
    e, a, b = _segment_weights(kcol, dt)
    shape = np.broadcast_shapes(c.shape, np.shape(kcol)[:-1] + (t.size,) if k.ndim else c.shape)
    out = np.zeros(shape)
    cb = np.broadcast_to(c, shape)
    for i in range(1, t.size):
        out[..., i] = (
            e[..., i - 1] * out[..., i - 1] + a[..., i - 1] * cb[..., i - 1] + b[..., i - 1] * cb[..., i]
        )
    return out


def tofts(t_min: ArrayLike, cp: ArrayLike, ktrans: float, ve: float) -> FloatArray:
    """Standard Tofts: Ct = Ktrans (Cp * exp(-kep t)), kep = Ktrans / ve."""
    return ktrans * conv_exp(t_min, cp, ktrans / ve)


def extended_tofts(t_min: ArrayLike, cp: ArrayLike, ktrans: float, ve: float, vp: float) -> FloatArray:
    """Extended Tofts: Tofts + vp Cp."""
    return tofts(t_min, cp, ktrans, ve) + vp * np.asarray(cp, dtype=float)


def two_cxm_exponentials(
    fp_ml_100ml_min: float, ps_per_min: float, ve: float, vp: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Amplitudes (/min) and rates (/min) of the 2CXM bi-exponential impulse response."""
    f = fp_ml_100ml_min / 100.0
    ps = ps_per_min
    trace = (f + ps) / vp + ps / ve
    det = f * ps / (vp * ve)
    root = np.sqrt(max(trace**2 - 4.0 * det, 0.0))
    s_fast = 0.5 * (trace + root)
    s_slow = det / s_fast  # product of roots = det; avoids cancellation
    v = vp + ve
    # R(0) = F and integral of R = vp + ve fix the amplitudes.
    a_fast = s_fast * (f - v * s_slow) / (s_fast - s_slow) if s_fast != s_slow else f / 2
    a_slow = f - a_fast
    return (a_fast, a_slow), (s_fast, s_slow)


def two_cxm(
    t_min: ArrayLike, cp: ArrayLike, fp_ml_100ml_min: float, ps_per_min: float, ve: float, vp: float
) -> FloatArray:
    """Two-compartment exchange model (Sourbron and Buckley 2011) tissue concentration."""
    (a1, a2), (s1, s2) = two_cxm_exponentials(fp_ml_100ml_min, ps_per_min, ve, vp)
    return a1 * conv_exp(t_min, cp, s1) + a2 * conv_exp(t_min, cp, s2)


def two_cxm_ktrans(fp_ml_100ml_min: float, ps_per_min: float, extraction: str = "compartment") -> float:
    """Ktrans = E Fp (/min); E = PS/(PS+Fp) for the 2CXM, or Renkin-Crone 1 - exp(-PS/Fp) if asked."""
    f = fp_ml_100ml_min / 100.0
    if extraction == "compartment":
        e = ps_per_min / (ps_per_min + f)
    elif extraction == "renkin_crone":
        e = 1.0 - np.exp(-ps_per_min / f)
    else:
        raise ValueError(f"unknown extraction definition {extraction!r}")
    return float(e * f)
