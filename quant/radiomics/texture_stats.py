"""First-order IBSI 1 features: intensity statistics, intensity histogram, intensity-volume histogram,
local intensity peaks. Tag prefixes `stat_`, `ih_`, `ivh_`, `loc_`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

Features = dict[str, float]

PEAK_RADIUS_MM = (3.0 * 1000.0 / (4.0 * np.pi)) ** (1.0 / 3.0)  # sphere of 1 cm3


def _moments(x: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, population variance, skewness and excess kurtosis."""
    mu = float(x.mean())
    d = x - mu
    var = float((d**2).mean())
    if var == 0:
        return mu, 0.0, 0.0, 0.0
    return mu, var, float((d**3).mean() / var**1.5), float((d**4).mean() / var**2 - 3.0)


def _common(x: np.ndarray) -> Features:
    """Statistics shared by `stat_` (raw intensities) and `ih_` (discretised levels)."""
    mu, var, skew, kurt = _moments(x)
    p10, p25, med, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    robust = x[(x >= p10) & (x <= p90)]
    return {
        "mean": mu,
        "var": var,
        "skew": skew,
        "kurt": kurt,
        "median": float(med),
        "min": float(x.min()),
        "p10": float(p10),
        "p90": float(p90),
        "max": float(x.max()),
        "iqr": float(p75 - p25),
        "range": float(x.max() - x.min()),
        "mad": float(np.abs(x - mu).mean()),
        "rmad": float(np.abs(robust - robust.mean()).mean()),
        "medad": float(np.abs(x - med).mean()),
        "cov": float(np.sqrt(var) / mu) if mu != 0 else float("nan"),
        "qcod": float((p75 - p25) / (p75 + p25)) if (p75 + p25) != 0 else float("nan"),
    }


def intensity_statistics(x: np.ndarray) -> Features:
    """IBSI intensity-based statistical features of the ROI intensities."""
    x = np.asarray(x, dtype=float)
    feats = _common(x)
    feats["energy"] = float((x**2).sum())
    feats["rms"] = float(np.sqrt((x**2).mean()))
    return {f"stat_{k}": v for k, v in feats.items()}


def intensity_histogram(levels: np.ndarray, n_levels: int) -> Features:
    """IBSI intensity-histogram features of discretised ROI levels 1..n_levels."""
    lv = np.asarray(levels, dtype=np.int64)
    feats = _common(lv.astype(float))
    hist = np.bincount(lv - 1, minlength=n_levels).astype(float)
    p = hist / hist.sum()
    grad = np.gradient(hist) if n_levels > 1 else np.zeros(1)
    q = p[p > 0]
    feats.update(
        mode=float(np.argmax(hist) + 1),
        entropy=float(-(q * np.log2(q)).sum()),
        uniformity=float((p**2).sum()),
        max_grad=float(grad.max()),
        max_grad_g=float(np.argmax(grad) + 1),
        min_grad=float(grad.min()),
        min_grad_g=float(np.argmin(grad) + 1),
    )
    return {f"ih_{k}": v for k, v in feats.items()}


def intensity_volume_histogram(values: np.ndarray, grid: np.ndarray) -> Features:
    """IBSI IVH features; `values` are ROI intensities on the discrete `grid` (sorted, ascending)."""
    x = np.asarray(values, dtype=float)
    grid = np.asarray(grid, dtype=float)
    lo, hi = grid[0], grid[-1]
    span = hi - lo if hi > lo else 1.0
    frac_x = (x - lo) / span
    # nu(i): fraction of the volume with intensity >= i, for every grid level i
    nu = 1.0 - np.searchsorted(np.sort(x), grid, side="left") / x.size
    gamma = (grid - lo) / span

    def v_at(f: float) -> float:
        return float((frac_x >= f).mean())

    def i_at(f: float) -> float:
        idx = np.flatnonzero(nu <= f)
        return float(grid[idx[0]]) if idx.size else float(hi + (grid[1] - grid[0] if len(grid) > 1 else 1))

    feats = {
        "v10": v_at(0.10),
        "v90": v_at(0.90),
        "i10": i_at(0.10),
        "i90": i_at(0.90),
    }
    feats["diff_v10_v90"] = feats["v10"] - feats["v90"]
    feats["diff_i10_i90"] = feats["i10"] - feats["i90"]
    feats["auc"] = float(np.trapezoid(nu, gamma)) if len(grid) > 1 else 0.0
    return {f"ivh_{k}": v for k, v in feats.items()}


def peak_kernel(spacing: Sequence[float], radius_mm: float = PEAK_RADIUS_MM) -> np.ndarray:
    """Boolean kernel of voxels whose centres lie within radius_mm of the central voxel."""
    half = [int(np.floor(radius_mm / s)) for s in spacing]
    grids = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half, spacing)], indexing="ij")
    return sum(g**2 for g in grids) <= radius_mm**2 + 1e-9


def local_intensity(image: np.ndarray, roi: np.ndarray, spacing: Sequence[float]) -> Features:
    """Local (at the hottest ROI voxel) and global intensity peaks: mean in a 1 cm3 sphere."""
    kernel = peak_kernel(spacing).astype(float)
    img = np.asarray(image, dtype=float)
    pad = [(k // 2, k // 2) for k in kernel.shape]
    lo = np.maximum(np.argwhere(roi).min(axis=0) - [p[0] for p in pad], 0)
    hi = np.minimum(np.argwhere(roi).max(axis=0) + 1 + [p[0] for p in pad], img.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    sub, sub_roi = img[box], roi[box]
    total = ndimage.correlate(sub, kernel, mode="constant", cval=0.0)
    count = ndimage.correlate(np.ones_like(sub), kernel, mode="constant", cval=0.0)
    local_mean = total / count
    vals = sub[sub_roi]
    means = local_mean[sub_roi]
    return {
        "loc_peak_loc": float(means[vals == vals.max()].max()),
        "loc_peak_glob": float(means.max()),
    }
