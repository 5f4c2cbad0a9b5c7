"""Vectorised voxel-wise IVIM (f, D, D*) and DKI (D, K) fits; every voxel gets an estimate and a quality flag.

IVIM: signals are normalised to the mean at the lowest b; D from a log-linear fit of b >= b_threshold,
f from its intercept, D* from a grid over its bounds with D and f fixed (the segmented fit), then a
batched bounded Levenberg-Marquardt refinement of (S0, f, D*, D) on all voxels together.
DKI: log-quadratic least squares start, then batched bounded LM of (S0, D, K) with K in [0, 3].
Quality flags (DKI_FLAGS / IVIM_FLAGS): 0 good; the other codes say why a value is doubtful, never refused.
Units: b s/mm2, D and D* mm2/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from quant.errors import QuantInputError
from quant.mri.voxel_lm import lm_fit

FloatArray = NDArray[np.float64]

IVIM_LOWER = np.array([0.7, 0.0, 0.005, 0.0])
IVIM_UPPER = np.array([1.3, 1.0, 0.2, 0.005])
IVIM_SCALE = np.array([0.1, 0.1, 0.01, 0.001])
DKI_LOWER = np.array([0.0, 1e-7, 0.0])
DKI_UPPER = np.array([10.0, 0.01, 3.0])
DKI_SCALE = np.array([0.1, 0.001, 0.1])
DKI_FLAGS = {
    0: "good",
    1: "K at a bound",
    2: "b beyond the validity limit 3/(D K)",
    3: "signal not positive or not finite",
}
IVIM_FLAGS = {0: "good", 1: "a parameter at a bound", 3: "signal not positive or not finite"}


@dataclass
class DiffusionMaps:
    params: dict[str, FloatArray]  # each (N,)
    flags: NDArray[np.int8]
    residual_rms: FloatArray


def _prepare(
    b: FloatArray, s: FloatArray, min_distinct: int, what: str
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    b = np.asarray(b, dtype=float)
    if b.ndim != 1 or s.shape[-1] != b.size:
        raise QuantInputError(f"{what}: one b-value per volume is needed")
    if np.unique(np.round(b, 3)).size < min_distinct:
        raise QuantInputError(
            f"{what} needs at least {min_distinct} distinct b-values, got {np.unique(np.round(b, 3)).size}"
        )
    bad = ~np.all(np.isfinite(s) & (s > 0), axis=1)
    low = np.isclose(b, b.min())
    with np.errstate(all="ignore"):
        ref = np.nanmean(np.where(s[:, low] > 0, s[:, low], np.nan), axis=1)
    ref = np.where(np.isfinite(ref) & (ref > 0), ref, 1.0)
    y = np.where(np.isfinite(s) & (s > 0), s, 1e-6 * ref[:, None]) / ref[:, None]
    return y, ref, bad


def fit_ivim_maps(b_values: FloatArray, signal: FloatArray, b_threshold: float = 200.0) -> DiffusionMaps:
    """IVIM for signal (N, B); returns f, d_mm2_per_s, dstar_mm2_per_s, s0 maps and flags."""
    y, ref, bad = _prepare(b_values, signal, 4, "IVIM")
    b = np.asarray(b_values, dtype=float)
    high = b >= b_threshold
    if np.unique(b[high]).size < 2 or not np.any(~high):
        raise QuantInputError(f"IVIM needs at least 2 b-values >= {b_threshold} s/mm2 and some below")
    x = b[high]
    ly = np.log(y[:, high])
    xm = x.mean()
    slope = ((ly - ly.mean(axis=1, keepdims=True)) * (x - xm)).sum(axis=1) / np.sum((x - xm) ** 2)
    intercept = ly.mean(axis=1) - slope * xm
    d = np.clip(-slope, IVIM_LOWER[3], IVIM_UPPER[3])
    s0 = np.clip(y[:, np.isclose(b, b.min())].mean(axis=1), IVIM_LOWER[0], IVIM_UPPER[0])
    f = np.clip(1.0 - np.exp(intercept) / s0, IVIM_LOWER[1], IVIM_UPPER[1])
    grid = np.geomspace(IVIM_LOWER[2], IVIM_UPPER[2], 40)
    model = s0[:, None, None] * (
        f[:, None, None] * np.exp(-b[None, None, :] * grid[None, :, None])
        + (1 - f[:, None, None]) * np.exp(-b * d[:, None])[:, None, :]
    )
    dstar = grid[np.argmin(np.sum((model - y[:, None, :]) ** 2, axis=2), axis=1)]
    p0 = np.column_stack([s0, f, dstar, d])

    def forward(p: FloatArray, rows: np.ndarray) -> FloatArray:
        return p[:, :1] * (p[:, 1:2] * np.exp(-b * p[:, 2:3]) + (1 - p[:, 1:2]) * np.exp(-b * p[:, 3:4]))

    p, rms = lm_fit(forward, y, p0, IVIM_LOWER, IVIM_UPPER, IVIM_SCALE)
    at_bound = np.any(
        np.isclose(p[:, 1:], IVIM_LOWER[1:], rtol=0, atol=1e-9)
        | np.isclose(p[:, 1:], IVIM_UPPER[1:], rtol=1e-6),
        axis=1,
    )
    flags = np.where(bad, 3, np.where(at_bound, 1, 0)).astype(np.int8)
    params = {"f": p[:, 1], "d_mm2_per_s": p[:, 3], "dstar_mm2_per_s": p[:, 2], "s0": p[:, 0] * ref}
    return DiffusionMaps(params, flags, rms)


def fit_dki_maps(b_values: FloatArray, signal: FloatArray) -> DiffusionMaps:
    """DKI (single direction or trace) for signal (N, B): d_mm2_per_s, k, s0, flags; never refuses a voxel."""
    y, ref, bad = _prepare(b_values, signal, 3, "DKI")
    b = np.asarray(b_values, dtype=float)
    design = np.column_stack([np.ones_like(b), -b, b**2 / 6.0])
    coef, *_ = np.linalg.lstsq(design, np.log(y).T, rcond=None)
    c0, d, c2 = coef
    d = np.clip(d, DKI_LOWER[1], DKI_UPPER[1])
    with np.errstate(all="ignore"):
        k = np.where(d > 0, c2 / d**2, 0.0)
    p0 = np.column_stack([np.exp(np.clip(c0, -5, 2)), d, np.nan_to_num(k)])

    def forward(p: FloatArray, rows: np.ndarray) -> FloatArray:
        dd = p[:, 1:2]
        return p[:, :1] * np.exp(-b * dd + b**2 * dd**2 * p[:, 2:3] / 6.0)

    p, rms = lm_fit(forward, y, p0, DKI_LOWER, DKI_UPPER, DKI_SCALE)
    p[:, 2] = np.where(p[:, 2] < 1e-12, 0.0, p[:, 2])  # no denormals: K on its lower bound is 0
    product = p[:, 1] * p[:, 2]
    with np.errstate(divide="ignore"):
        limit = np.where(product > 0, 3.0 / np.where(product > 0, product, 1.0), np.inf)
    at_bound = (p[:, 2] <= 0) | (p[:, 2] >= DKI_UPPER[2] * (1 - 1e-6))
    flags = np.where(bad, 3, np.where(b.max() > limit, 2, np.where(at_bound, 1, 0))).astype(np.int8)
    params = {"d_mm2_per_s": p[:, 1], "k": p[:, 2], "s0": p[:, 0] * ref}
    return DiffusionMaps(params, flags, rms)
