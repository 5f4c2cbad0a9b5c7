"""Voxel-wise DCE-MRI from signal: T10 from VFA, SPGR signal to concentration, bolus arrival, model maps.

The AIF (Parker population or measured) and the convolution are evaluated on a fine uniform grid
(``fine_step``: at most 0.5 s and a quarter of the frame interval) and the model is sampled at the frame
times, so frame-time sampling does not bias the fit. The bolus arrival (AIF delay) is detected from the
data as the one delay, over a range covering the pre-contrast phases, that minimises the sum of per-voxel
residuals of a sample of voxels each fitted with its own parameters (``profile_delay``; not a fit of the
mean curve, which for heterogeneous voxels is no model curve), or fitted per voxel (``fit_delay``) as a
free parameter bounded by the same range, starting from the detected one.
Units: t in s, concentrations mM, Ktrans and PS /min, Fp ml/min/ml, ve and vp fractions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from quant.errors import QuantInputError
from quant.mri.aif import parker_blood_mM
from quant.mri.dce_voxelwise import murase_lls
from quant.mri.voxel_lm import best_start, lm_fit

FloatArray = NDArray[np.float64]

MODELS = ("tofts", "extended_tofts", "2cxm")
PARAMS = {
    "tofts": ("ktrans_per_min", "ve"),
    "extended_tofts": ("ktrans_per_min", "ve", "vp"),
    "2cxm": ("fp_ml_per_min_per_ml", "ps_ml_per_min_per_ml", "ve", "vp"),
}
LOWER = {"tofts": [0.0, 1e-3], "extended_tofts": [0.0, 1e-3, 0.0], "2cxm": [1e-3, 1e-4, 1e-3, 1e-3]}
UPPER = {"tofts": [5.0, 1.0], "extended_tofts": [5.0, 1.0, 1.0], "2cxm": [5.0, 5.0, 1.0, 1.0]}
SCALE = {"tofts": [0.1, 0.1], "extended_tofts": [0.1, 0.1, 0.01], "2cxm": [0.1, 0.01, 0.1, 0.01]}


# --------------------------------------------------------------------------- T1 and concentration
def t1_from_vfa(signal: FloatArray, flips_deg: FloatArray, tr_s: float) -> tuple[FloatArray, FloatArray]:
    """T1 (s) per voxel from SPGR signals (N, F) at F flip angles (linearised DESPOT1); and a validity mask."""
    if signal.shape[-1] != flips_deg.size or flips_deg.size < 2 or np.unique(flips_deg).size < 2:
        raise QuantInputError("a VFA series needs at least 2 different flip angles")
    a = np.deg2rad(flips_deg)
    y = signal / np.sin(a)
    x = signal / np.tan(a)
    xm, ym = x.mean(axis=-1, keepdims=True), y.mean(axis=-1, keepdims=True)
    with np.errstate(all="ignore"):
        e1 = np.sum((x - xm) * (y - ym), axis=-1) / np.sum((x - xm) ** 2, axis=-1)
        t1 = -tr_s / np.log(e1)
    ok = np.isfinite(t1) & (e1 > 0) & (e1 < 1) & (t1 > 0) & (t1 < 20.0)
    return np.where(ok, t1, np.nan), ok


def signal_to_concentration(
    signal: FloatArray, t10_s: FloatArray, tr_s: float, flip_deg: float, r1: float, n_baseline: int
) -> tuple[FloatArray, FloatArray]:
    """SPGR signal (N, T) to concentration (mM); voxels outside the SPGR range come back NaN and flagged."""
    a = np.deg2rad(flip_deg)
    r10 = 1.0 / np.asarray(t10_s, dtype=float)
    e10 = np.exp(-tr_s * r10)
    s0 = signal[:, :n_baseline].mean(axis=1)
    with np.errstate(all="ignore"):
        m0 = s0 * (1 - np.cos(a) * e10) / (np.sin(a) * (1 - e10))
        q = signal / (m0[:, None] * np.sin(a))
        e1 = (1 - q) / (1 - q * np.cos(a))
        r1_t = -np.log(e1) / tr_s
        conc = (r1_t - r10[:, None]) / r1
    ok = np.all(np.isfinite(conc) & (e1 > 0) & (e1 < 1), axis=1) & (s0 > 0)
    return np.where(ok[:, None], conc, np.nan), ok


def baseline_frames(mean_signal: FloatArray) -> int:
    """Pre-contrast frames: those before the first frame reaching 10 % of the peak enhancement (minus one)."""
    base = mean_signal[0]
    enh = mean_signal - base
    peak = float(np.max(enh))
    if not peak > 0:
        raise QuantInputError("the series shows no enhancement: cannot find the pre-contrast phase")
    first = int(np.argmax(enh >= 0.1 * peak))
    return max(1, first - 1) if first > 1 else 1


# --------------------------------------------------------------------------- AIF on a fine grid
def fine_step(times_s: FloatArray) -> float:
    return float(min(0.5, np.min(np.diff(times_s)) / 4.0))


@dataclass
class Aif:
    """Plasma AIF as a function of time (s) and the grid the fit uses."""

    kind: str  # "parker" or "measured"
    fine_t: FloatArray
    frame_idx: FloatArray  # positions of the frame times on the fine grid (fractional)
    hct: float
    measured_t: FloatArray | None = None
    measured_cp: FloatArray | None = None
    info: dict = field(default_factory=dict)

    def plasma(self, delays_s: FloatArray) -> FloatArray:
        """(N, Tf) plasma concentration on the fine grid for per-voxel delays (N,)."""
        t = self.fine_t[None, :] - np.asarray(delays_s, dtype=float)[:, None]
        if self.kind == "parker":
            cb = np.where(t >= 0, parker_blood_mM(np.maximum(t, 0.0) / 60.0), 0.0)
            return cb / (1.0 - self.hct)
        assert self.measured_t is not None and self.measured_cp is not None
        return np.interp(
            t, self.measured_t, self.measured_cp, left=self.measured_cp[0], right=self.measured_cp[-1]
        )

    def at_frames(self, delay_s: float, times_s: FloatArray) -> FloatArray:
        cp = self.plasma(np.array([delay_s]))[0]
        return np.interp(times_s, self.fine_t, cp)


def make_aif(kind: str, times_s: FloatArray, hct: float, measured_cb: FloatArray | None = None) -> Aif:
    """Parker population AIF or a measured whole-blood AIF (mM at the frame times), on a fine grid."""
    if not 0.0 <= hct < 1.0:
        raise QuantInputError(f"hematocrit must be in [0, 1), got {hct}")
    step = fine_step(times_s)
    fine = np.arange(0.0, times_s[-1] + step / 2, step)
    idx = np.interp(times_s, fine, np.arange(fine.size))
    if kind == "parker":
        return Aif("parker", fine, idx, hct, info={"aif": "Parker 2006 population AIF", "fine_step_s": step})
    if measured_cb is None or measured_cb.shape != times_s.shape:
        raise QuantInputError("a measured AIF needs one value per frame")
    cp = np.asarray(measured_cb, dtype=float) / (1.0 - hct)
    return Aif("measured", fine, idx, hct, times_s, cp, {"aif": "measured (vessel ROI)", "fine_step_s": step})


# --------------------------------------------------------------------------- batched forward models
def _conv(step_min: float, cp: FloatArray, k: FloatArray) -> FloatArray:
    """Integral of Cp(u) exp(-k (t-u)) on a uniform grid, Cp (N, Tf) piecewise linear, k (N,).

    Exact for piecewise-linear Cp: each segment's closed-form weights (a, b) and the per-step decay e give
    out[i] = e out[i-1] + u[i], stepped in time with all voxels at once.
    """
    x = np.maximum(k, 0.0) * step_min
    e = np.exp(-x)
    small = x < 1e-3
    xs = np.where(small, 1.0, x)
    a_big = (1.0 - e - xs * e) / xs**2
    a = step_min * np.where(small, 0.5 - x / 3.0 + x**2 / 8.0, a_big)
    b = step_min * np.where(small, 0.5 - x / 6.0 + x**2 / 24.0, (1.0 - e) / xs - a_big)
    u = np.ascontiguousarray((a[:, None] * cp[:, :-1] + b[:, None] * cp[:, 1:]).T)
    out = np.empty((u.shape[0] + 1, u.shape[1]))
    out[0] = 0.0
    acc = out[0]
    for i in range(u.shape[0]):
        acc = e * acc + u[i]
        out[i + 1] = acc
    return out.T


def _sample(fine: FloatArray, idx: FloatArray) -> FloatArray:
    lo = np.floor(idx).astype(int)
    hi = np.minimum(lo + 1, fine.shape[1] - 1)
    w = idx - lo
    return fine[:, lo] * (1 - w) + fine[:, hi] * w


def tissue_model(
    model: str, p: FloatArray, cp_fine: FloatArray, step_s: float, idx: FloatArray
) -> FloatArray:
    """Batched tissue concentration at the frame times for parameters p (N, P) (same order as PARAMS)."""
    sm = step_s / 60.0
    if model in ("tofts", "extended_tofts"):
        kep = p[:, 0] / p[:, 1]
        c = p[:, :1] * _conv(sm, cp_fine, kep)
        if model == "extended_tofts":
            c = c + p[:, 2:3] * cp_fine
        return _sample(c, idx)
    fp, ps, ve, vp = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    trace = (fp + ps) / vp + ps / ve
    det = fp * ps / (vp * ve)
    root = np.sqrt(np.maximum(trace**2 - 4.0 * det, 0.0))
    s_fast = 0.5 * (trace + root)
    s_slow = det / s_fast
    denom = np.where(s_fast != s_slow, s_fast - s_slow, 1.0)
    a_fast = np.where(s_fast != s_slow, s_fast * (fp - (vp + ve) * s_slow) / denom, fp / 2)
    a_slow = fp - a_fast
    c = a_fast[:, None] * _conv(sm, cp_fine, s_fast) + a_slow[:, None] * _conv(sm, cp_fine, s_slow)
    return _sample(c, idx)


# --------------------------------------------------------------------------- fitting
@dataclass
class DceMaps:
    params: dict[str, FloatArray]  # each (N,)
    delay_s: FloatArray
    residual_rms_mM: FloatArray
    info: dict


def _starts(model: str, coarse: bool = False) -> FloatArray:
    if model == "2cxm" and coarse:
        return np.array([(fp, ps, ve, 0.05) for fp in (0.1, 0.5) for ps in (0.03, 0.2) for ve in (0.15, 0.4)])
    if model == "2cxm":
        grid = [
            (fp, ps, ve, vp)
            for fp in (0.1, 0.4, 1.2)
            for ps in (0.02, 0.1, 0.3)
            for ve in (0.1, 0.3, 0.6)
            for vp in (0.02, 0.1)
        ]
        return np.array(grid)
    return np.array([[0.1, 0.3, 0.02][: len(PARAMS[model])], [0.5, 0.5, 0.1][: len(PARAMS[model])]])


def _fixed_delay_forward(model: str, aif: Aif, delay: FloatArray) -> Callable:
    cp = aif.plasma(delay)
    step = float(aif.fine_t[1] - aif.fine_t[0])
    return lambda p, rows: tissue_model(model, p, cp[rows], step, aif.frame_idx)


PROFILE_VOXELS = 48
PROFILE_RANK = 8
COARSE_VOXELS = 16
COARSE_ITER = 15
COARSE_STEP_S = 1.0
REFINE_STAGES = ((1.0, 0.2),)  # (half width, step) in s: the best second either side of the 1 s grid


def _enhancing(ct: FloatArray) -> NDArray[np.intp]:
    """Rows whose peak reaches 10 % of the 95th percentile of the peaks (all rows if none does)."""
    peak = np.max(ct, axis=1)
    rows = np.flatnonzero(peak >= 0.1 * np.percentile(peak, 95))
    return rows if rows.size else np.arange(ct.shape[0])


def profile_curves(ct: FloatArray, k: int | None = None) -> tuple[FloatArray, str]:
    """Curves (K, T) for the delay profile and how they were chosen.

    The enhancing voxels' curves are denoised by projection onto their PROFILE_RANK leading singular vectors
    (the model curves of one tissue span a low-dimensional space; most of the noise lies outside it), and k
    of them are taken evenly spread over the ranks of area under the curve (all of them if there are at
    most k), so every kind of curve is represented. Each is fitted on its own: no averaging of different
    voxels, whose mean is not itself a model curve.
    """
    k = PROFILE_VOXELS if k is None else k
    rows = _enhancing(ct)
    x = ct[rows]
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    basis = vt[:PROFILE_RANK]
    x = (x @ basis.T) @ basis
    order = np.argsort(np.sum(x, axis=1), kind="stable")
    pick = order[np.unique(np.linspace(0, order.size - 1, min(k, order.size)).round().astype(int))]
    how = (
        f"{pick.size} of {rows.size} enhancing voxels spread over the ranks of area under the curve, "
        f"denoised by projection onto the {basis.shape[0]} leading singular vectors of the enhancing curves"
    )
    return x[pick], how


def _lls_starts(model: str, y: FloatArray, aif: Aif, times_s: FloatArray, delay_s: float) -> FloatArray:
    """Tofts-family starting values for the curves y (N, T) at one delay: Murase linear least squares."""
    p0 = murase_lls(times_s / 60.0, y, aif.at_frames(delay_s, times_s), model == "extended_tofts")
    p0 = p0[:, : len(PARAMS[model])]
    return np.where(np.isfinite(p0), p0, _starts(model)[0])


def _fits_at_delays(
    model: str,
    y: FloatArray,
    aif: Aif,
    times_s: FloatArray,
    delays: FloatArray,
    p0: FloatArray | None,
    n_iter: int = 30,
) -> tuple[FloatArray, FloatArray]:
    """Each curve of y (K, T) fitted at each delay (D,), all K * D fits in one batch: params (D, K, P) and the
    sum of squares over the K curves per delay (D,). Starts: p0 (D, K, P), else the coarse 2CXM start grid
    or the Tofts-family linear least squares."""
    n_d, k = delays.size, y.shape[0]
    yy = np.broadcast_to(y, (n_d, k, y.shape[1])).reshape(n_d * k, -1)
    fwd = _fixed_delay_forward(model, aif, np.repeat(delays, k))
    lower, upper, scale = np.array(LOWER[model]), np.array(UPPER[model]), np.array(SCALE[model])
    if p0 is not None:
        start = p0.reshape(n_d * k, -1)
    elif model == "2cxm":
        start = best_start(fwd, yy, _starts(model, coarse=True))
    else:
        start = np.concatenate([_lls_starts(model, y, aif, times_s, float(d)) for d in delays])
    p, rms = lm_fit(fwd, yy, start, lower, upper, scale, n_iter=n_iter)
    sse = np.where(np.isfinite(rms), rms, np.inf) ** 2 * y.shape[1]
    return p.reshape(n_d, k, -1), sse.reshape(n_d, k).sum(axis=1)


def _grid_around(centre: float, half_s: float, step_s: float, lo: float, hi: float) -> FloatArray:
    grid = centre + step_s * np.arange(-round(half_s / step_s), round(half_s / step_s) + 1)
    return grid[(grid >= lo - 1e-9) & (grid <= hi + 1e-9)]


def profile_delay(
    model: str, ct: FloatArray, aif: Aif, times_s: FloatArray, delay_range: tuple[float, float]
) -> tuple[float, dict]:
    """The common delay (s) minimising the SUM of per-voxel residuals over a sample of voxels; and how.

    The mean of heterogeneous voxels is not itself a model curve (one 2CXM curve fitted to it puts the
    arrival early), so each sampled curve (``profile_curves``) is fitted with its own parameters at each
    candidate delay, all fits of a grid in one batch: a 1 s grid over delay_range on a third of the curves,
    then a 0.2 s grid over the best second either side on all of them (moved on while its lowest point lies
    on its edge), and the vertex of the parabola through that lowest point and its neighbours.
    """
    lo, hi = delay_range
    y, how = profile_curves(ct)
    coarse = np.arange(lo, hi + COARSE_STEP_S / 2, COARSE_STEP_S)
    sub = np.unique(np.linspace(0, y.shape[0] - 1, min(COARSE_VOXELS, y.shape[0])).round().astype(int))
    _, cost = _fits_at_delays(model, y[sub], aif, times_s, coarse, None, COARSE_ITER)
    centre, p_start = float(coarse[int(np.argmin(cost))]), None
    for half, step in REFINE_STAGES:
        for _ in range(4):
            grid = _grid_around(centre, half, step, lo, hi)
            start = None if p_start is None else np.broadcast_to(p_start, (grid.size, *p_start.shape))
            params, cost = _fits_at_delays(model, y, aif, times_s, grid, start)
            j = int(np.argmin(cost))
            centre, p_start = float(grid[j]), params[j]
            on_edge = (j == 0 and grid[0] > lo + 1e-9) or (j == grid.size - 1 and grid[-1] < hi - 1e-9)
            if not on_edge:
                break
        if 0 < j < grid.size - 1:
            curv = cost[j - 1] - 2.0 * cost[j] + cost[j + 1]
            if curv > 0:
                centre += float(np.clip(0.5 * step * (cost[j - 1] - cost[j + 1]) / curv, -step, step))
    steps = ", then ".join(f"{step:g} s grid +-{half:g} s" for half, step in REFINE_STAGES)
    info = {
        "delay_detection": (
            f"profiled: sum of per-voxel {model} residuals (each voxel with its own parameters at each "
            f"candidate delay) over {how}; {COARSE_STEP_S:g} s grid over the range ({sub.size} voxels), "
            f"then {steps} (all) and parabolic vertex"
        ),
        "delay_profile_voxels": int(y.shape[0]),
    }
    return float(np.clip(centre, lo, hi)), info


def fit_dce_maps(
    model: str,
    ct: FloatArray,
    times_s: FloatArray,
    aif: Aif,
    *,
    delay_range: tuple[float, float],
    fit_delay: bool,
    fixed_delay_s: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> DceMaps:
    """Fit every curve of ct (N, T); the delay is given, detected (``profile_delay``), or fitted per voxel."""
    if model not in MODELS:
        raise QuantInputError(f"unknown DCE model {model!r}")
    n = ct.shape[0]
    ok = np.all(np.isfinite(ct), axis=1)
    if not np.any(ok):
        raise QuantInputError("no voxel has a usable concentration curve")
    if fixed_delay_s is not None:
        d0, how = float(fixed_delay_s), {"delay_detection": "given (not detected)"}
    else:
        d0, how = profile_delay(model, ct[ok], aif, times_s, delay_range)
    info = {
        "delay_detected_s": d0,
        "delay_range_s": list(delay_range),
        "fit_delay": fit_delay,
        **how,
        **aif.info,
    }
    lower, upper, scale = np.array(LOWER[model]), np.array(UPPER[model]), np.array(SCALE[model])
    y = ct[ok]
    fwd = _fixed_delay_forward(model, aif, np.full(y.shape[0], d0))
    p0 = best_start(fwd, y, _starts(model)) if model == "2cxm" else _lls_starts(model, y, aif, times_s, d0)
    if progress:
        progress(0.3)
    p, rms = lm_fit(fwd, y, p0, lower, upper, scale)
    delays = np.full(y.shape[0], d0)
    if fit_delay:
        step = float(aif.fine_t[1] - aif.fine_t[0])

        def fwd_d(q: FloatArray, rows: np.ndarray) -> FloatArray:
            return tissue_model(model, q[:, :-1], aif.plasma(q[:, -1]), step, aif.frame_idx)

        q0 = np.column_stack([p, delays])
        q, rms = lm_fit(
            fwd_d, y, q0, np.r_[lower, delay_range[0]], np.r_[upper, delay_range[1]], np.r_[scale, 1.0]
        )
        p, delays = q[:, :-1], q[:, -1]
    if progress:
        progress(0.9)
    out = {name: np.full(n, np.nan) for name in PARAMS[model]}
    for i, name in enumerate(PARAMS[model]):
        out[name][ok] = p[:, i]
    if model != "2cxm":
        out["kep_per_min"] = out["ktrans_per_min"] / out["ve"]
    else:
        fp, ps = out["fp_ml_per_min_per_ml"], out["ps_ml_per_min_per_ml"]
        out["ktrans_per_min"] = ps * fp / (ps + fp)
    delay_map, rms_map = np.full(n, np.nan), np.full(n, np.nan)
    delay_map[ok], rms_map[ok] = delays, rms
    return DceMaps(out, delay_map, rms_map, info)
