"""Batched, bounded Levenberg-Marquardt over many voxels at once (numpy only).

Each voxel keeps its own damping; steps are projected onto the box bounds and kept only where they lower
that voxel's sum of squares. The Jacobian is taken by forward differences in scaled parameters, so one
iteration costs P + 1 evaluations of the batched forward model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Forward = Callable[[FloatArray, NDArray[np.intp]], FloatArray]


def best_start(forward: Forward, y: FloatArray, starts: FloatArray) -> FloatArray:
    """Per voxel, the start (rows of ``starts``, shape (S, P)) with the lowest sum of squares."""
    n = y.shape[0]
    idx = np.arange(n)
    best = np.broadcast_to(starts[0], (n, starts.shape[1])).copy()
    best_cost = np.full(n, np.inf)
    for s in starts:
        p = np.broadcast_to(s, (n, starts.shape[1])).copy()
        with np.errstate(all="ignore"):
            cost = np.sum((y - forward(p, idx)) ** 2, axis=1)
        cost = np.where(np.isfinite(cost), cost, np.inf)
        better = cost < best_cost
        best[better], best_cost[better] = p[better], cost[better]
    return best


def lm_fit(
    forward: Forward,
    y: FloatArray,
    p0: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    scale: FloatArray,
    n_iter: int = 60,
) -> tuple[FloatArray, FloatArray]:
    """Fit y (N, T) with forward(p (n, P), rows) -> (n, T); returns (params (N, P), residual RMS (N,))."""
    n, n_par = p0.shape
    p = np.clip(p0.astype(float), lower, upper)
    all_rows = np.arange(n)
    with np.errstate(all="ignore"):
        model = forward(p, all_rows)
    cost = np.sum((y - model) ** 2, axis=1)
    cost = np.where(np.isfinite(cost), cost, np.inf)
    lam = np.full(n, 1e-2)
    active = np.ones(n, dtype=bool)
    eye = np.eye(n_par)
    for _ in range(n_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        pa, ma = p[idx], model[idx]
        jac = np.empty((idx.size, y.shape[1], n_par))
        with np.errstate(all="ignore"):
            for j in range(n_par):
                h = np.maximum(np.abs(pa[:, j]) * 1e-6, scale[j] * 1e-7)
                direction = np.where(pa[:, j] + h > upper[j], -1.0, 1.0)
                pj = pa.copy()
                pj[:, j] += direction * h
                jac[:, :, j] = (forward(pj, idx) - ma) / (direction * h)[:, None]
        jac = np.nan_to_num(jac, nan=0.0, posinf=0.0, neginf=0.0)
        r = y[idx] - ma
        jtj = np.einsum("ntp,ntq->npq", jac, jac)
        g = np.einsum("ntp,nt->np", jac, r)
        diag = np.maximum(np.einsum("npp->np", jtj), 1e-30)
        damp = jtj + (lam[idx, None] * diag)[:, :, None] * eye
        try:
            step = np.linalg.solve(damp, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(damp.reshape(-1, n_par), g.reshape(-1), rcond=None)[0].reshape(g.shape)
        trial = np.clip(pa + np.nan_to_num(step), lower, upper)
        with np.errstate(all="ignore"):
            m_new = forward(trial, idx)
        c_new = np.sum((y[idx] - m_new) ** 2, axis=1)
        c_new = np.where(np.isfinite(c_new), c_new, np.inf)
        better = c_new < cost[idx]
        gain = (cost[idx] - c_new) / np.maximum(cost[idx], 1e-300)
        acc = idx[better]
        p[acc], model[acc], cost[acc] = trial[better], m_new[better], c_new[better]
        lam[idx] = np.where(better, np.maximum(lam[idx] / 3.0, 1e-12), lam[idx] * 4.0)
        done = (better & (gain < 1e-12)) | (lam[idx] > 1e12) | (cost[idx] < 1e-28)
        active[idx[done]] = False
    return p, np.sqrt(cost / y.shape[1])
