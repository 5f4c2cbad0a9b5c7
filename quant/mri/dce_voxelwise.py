"""Vectorised (extended) Tofts fitting for many curves at once.

Step 1: linear least squares (Murase 2004) on the integrated model gives every voxel a start.
Step 2: a batched, bounded Levenberg-Marquardt refinement runs on all voxels together with numpy:
each voxel keeps its own damping factor, steps are projected onto the box bounds, and a step is
kept only where it lowers that voxel's residual.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import cumulative_trapezoid

from quant.errors import QuantInputError
from quant.mri.dce_models import conv_exp

FloatArray = NDArray[np.float64]

# Box bounds for (Ktrans /min, ve, vp).
ETOFTS_LOWER = np.array([0.0, 1e-3, 0.0])
ETOFTS_UPPER = np.array([5.0, 1.0, 1.0])
CHUNK_VOXELS = 16384  # bounds memory: the Jacobian is (chunk, T, 3) floats


def murase_lls(t_min: FloatArray, ct: FloatArray, cp: FloatArray, extended: bool) -> FloatArray:
    """Linear least-squares (Murase 2004) estimates (Ktrans, ve, vp) for curves ct of shape (N, T).

    Ct = (Ktrans + kep vp) int Cp - kep int Ct + vp Cp (extended); Ct = Ktrans int Cp - kep int Ct.
    Values are clipped into the fitting bounds; vp is 0 for the standard model.
    """
    icp = cumulative_trapezoid(cp, t_min, initial=0.0)
    ict = cumulative_trapezoid(ct, t_min, axis=-1, initial=0.0)
    n = ct.shape[0]
    cols = [np.broadcast_to(icp, ct.shape), -ict]
    if extended:
        cols.append(np.broadcast_to(cp, ct.shape))
    a = np.stack(cols, axis=-1)  # (N, T, P)
    ata = np.einsum("ntp,ntq->npq", a, a)
    aty = np.einsum("ntp,nt->np", a, ct)
    ata += np.eye(a.shape[-1]) * 1e-12 * np.trace(ata, axis1=1, axis2=2)[:, None, None]
    coef = np.linalg.solve(ata, aty[..., None])[..., 0]
    kep = coef[:, 1]
    vp = coef[:, 2] if extended else np.zeros(n)
    ktrans = coef[:, 0] - kep * vp if extended else coef[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        ve = np.where(kep > 0, ktrans / kep, ETOFTS_UPPER[1])
    p = np.stack([ktrans, ve, vp], axis=-1)
    p = np.where(np.isfinite(p), p, np.array([0.1, 0.3, 0.02]))
    return np.clip(p, ETOFTS_LOWER, ETOFTS_UPPER)


def _etofts_batch(t_min: FloatArray, cp: FloatArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Model curves (N, T) and the convolution term F(kep) for parameters p (N, 3)."""
    kep = p[:, 0] / p[:, 1]
    f = conv_exp(t_min, cp, kep)
    return p[:, :1] * f + p[:, 2:3] * cp, f


def _etofts_jacobian(
    t_min: FloatArray, cp: FloatArray, p: FloatArray, f: FloatArray, free: int
) -> FloatArray:
    """Jacobian (N, T, free) of the extended Tofts model with respect to (Ktrans, ve[, vp])."""
    ktrans, ve = p[:, 0], p[:, 1]
    kep = ktrans / ve
    h = np.maximum(kep * 1e-6, 1e-9)
    dfdk = (conv_exp(t_min, cp, kep + h) - f) / h[:, None]
    d_k = f + (ktrans / ve)[:, None] * dfdk
    d_ve = (-(ktrans**2) / ve**2)[:, None] * dfdk
    cols = [d_k, d_ve]
    if free == 3:
        cols.append(np.broadcast_to(cp, f.shape))
    return np.stack(cols, axis=-1)


def lm_refine_etofts(
    t_min: FloatArray, ct: FloatArray, cp: FloatArray, p0: FloatArray, extended: bool, n_iter: int = 40
) -> tuple[FloatArray, FloatArray]:
    """Batched projected Levenberg-Marquardt over all curves; returns (params (N, 3), residual RMS (N,))."""
    free = 3 if extended else 2
    lo, hi = ETOFTS_LOWER[:free], ETOFTS_UPPER[:free]
    p = p0.copy()
    if not extended:
        p[:, 2] = 0.0
    model, f = _etofts_batch(t_min, cp, p)
    cost = np.sum((ct - model) ** 2, axis=1)
    lam = np.full(p.shape[0], 1e-2)
    active = np.ones(p.shape[0], dtype=bool)
    for _ in range(n_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        pa, fa = p[idx], f[idx]
        r = ct[idx] - model[idx]
        jac = _etofts_jacobian(t_min, cp, pa, fa, free)
        jtj = np.einsum("ntp,ntq->npq", jac, jac)
        g = np.einsum("ntp,nt->np", jac, r)
        diag = np.einsum("npp->np", jtj)
        damp = jtj + (lam[idx, None] * np.maximum(diag, 1e-12))[:, :, None] * np.eye(free)
        step = np.linalg.solve(damp, g[..., None])[..., 0]
        trial = pa.copy()
        trial[:, :free] = np.clip(pa[:, :free] + step, lo, hi)
        m_new, f_new = _etofts_batch(t_min, cp, trial)
        c_new = np.sum((ct[idx] - m_new) ** 2, axis=1)
        better = c_new < cost[idx]
        rel_gain = (cost[idx] - c_new) / np.maximum(cost[idx], 1e-30)
        acc = idx[better]
        p[acc], model[acc], f[acc], cost[acc] = trial[better], m_new[better], f_new[better], c_new[better]
        lam[idx] = np.where(better, lam[idx] / 3.0, lam[idx] * 4.0)
        done = (better & (rel_gain < 1e-10)) | (lam[idx] > 1e10)
        active[idx[done]] = False
    return p, np.sqrt(cost / ct.shape[1])


def _validate_voxel_inputs(
    ct: FloatArray, t: FloatArray, cp: FloatArray, mask: FloatArray | None
) -> FloatArray:
    if ct.ndim < 2:
        raise QuantInputError("ct must have at least 2 dimensions (..., T)")
    n_t = ct.shape[-1]
    if t.shape != (n_t,) or cp.shape != (n_t,):
        raise QuantInputError(f"t_s and cp must both have {n_t} samples (the last axis of ct)")
    if np.any(np.diff(t) <= 0):
        raise QuantInputError("t_s must be strictly increasing")
    m = np.ones(ct.shape[:-1], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != ct.shape[:-1]:
        raise QuantInputError(f"mask shape {m.shape} does not match image shape {ct.shape[:-1]}")
    return m


def fit_tofts_family_voxelwise(
    ct: ArrayLike, t_s: ArrayLike, cp: ArrayLike, mask: ArrayLike | None = None, *, extended: bool = True
) -> dict[str, FloatArray]:
    """Fit (extended) Tofts to every voxel in mask; maps have ct.shape[:-1] and NaN outside the mask."""
    ct_a = np.asarray(ct, dtype=float)
    t = np.asarray(t_s, dtype=float)
    cp_a = np.asarray(cp, dtype=float)
    m = _validate_voxel_inputs(ct_a, t, cp_a, mask)
    curves = ct_a[m]
    finite = np.all(np.isfinite(curves), axis=1)
    if not np.all(np.isfinite(cp_a)):
        raise QuantInputError("cp contains non-finite values")
    t_min = t / 60.0
    p = np.full((curves.shape[0], 3), np.nan)
    rms = np.full(curves.shape[0], np.nan)
    rows = np.flatnonzero(finite)
    for start in range(0, rows.size, CHUNK_VOXELS):
        sel = rows[start : start + CHUNK_VOXELS]
        p0 = murase_lls(t_min, curves[sel], cp_a, extended)
        p[sel], rms[sel] = lm_refine_etofts(t_min, curves[sel], cp_a, p0, extended)
    maps: dict[str, FloatArray] = {}
    names = ["Ktrans_per_min", "ve", "vp"] if extended else ["Ktrans_per_min", "ve"]
    for i, name in enumerate(names):
        out = np.full(m.shape, np.nan)
        out[m] = p[:, i]
        maps[name] = out
    maps["kep_per_min"] = maps["Ktrans_per_min"] / maps["ve"]
    res = np.full(m.shape, np.nan)
    res[m] = rms
    maps["residual_rms_mM"] = res
    return maps


def fit_extended_tofts_voxelwise(
    ct: ArrayLike, t_s: ArrayLike, cp: ArrayLike, mask: ArrayLike | None = None
) -> dict[str, FloatArray]:
    """Extended Tofts maps (Ktrans_per_min, ve, vp, kep_per_min, residual_rms_mM) for a (..., T) array + mask."""
    return fit_tofts_family_voxelwise(ct, t_s, cp, mask, extended=True)
