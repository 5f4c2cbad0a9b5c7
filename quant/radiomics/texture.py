"""IBSI 1 radiomics features of an image and ROI mask: the public entry point.

Arrays are indexed (z, y, x); spacing is (dz, dy, dx) in mm; 2D features are computed per axial
slice (axis 0). Feature tags follow the IBSI reference tables (e.g. `stat_mean`, `cm_contrast_3D_avg`).
Families: morph, loc, stat, ih, ivh, cm, rlm, szm, dzm, ngt, ngl (see quant/radiomics/texture_*.py).
The intensity and morphological masks are the same (no re-segmentation); no resampling is done.
Settings fixed to the IBSI phantom configuration: GLCM/NGTDM/NGLDM at Chebyshev distance 1, NGLDM
coarseness 0, 8/26-connected zones, taxicab edge distance for GLDZM. Intensity-histogram and IVH
features are in grey-level units (1..Ng) of the chosen discretisation.
Not implemented: morph_vol_dens_ombb, morph_area_dens_ombb, morph_vol_dens_mvee, morph_area_dens_mvee.
No Django imports: pure computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from quant.errors import TextureError
from quant.radiomics import texture_features as tf
from quant.radiomics import texture_matrices as tm
from quant.radiomics.texture_morph import morphology
from quant.radiomics.texture_stats import (
    intensity_histogram,
    intensity_statistics,
    intensity_volume_histogram,
    local_intensity,
)

ALL_FAMILIES: tuple[str, ...] = ("morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm", "dzm", "ngt", "ngl")
LEVEL_EPS = 1e-9  # guards floor() against float round-off such as 0.3 / 0.1 = 2.9999999999999996


@dataclass(frozen=True)
class Discretisation:
    """Fixed bin size ('fbs', bin_width, optional lower_bound) or fixed bin number ('fbn', n_bins)."""

    method: Literal["fbs", "fbn"] = "fbs"
    bin_width: float = 1.0
    n_bins: int = 32
    lower_bound: float | None = None

    def describe(self) -> str:
        if self.method == "fbn":
            return f"fixed bin number: Ng={self.n_bins}, X_d = floor(Ng (X - X_min) / (X_max - X_min)) + 1"
        lower = "ROI minimum" if self.lower_bound is None else f"{self.lower_bound:g}"
        return f"fixed bin size: w={self.bin_width:g}, X_d = floor((X - X_low) / w) + 1, X_low = {lower}"


@dataclass(frozen=True)
class TextureSettings:
    """What to compute and how to discretise; IVH uses the same grey levels as texture."""

    discretisation: Discretisation = field(default_factory=Discretisation)
    families: tuple[str, ...] = ALL_FAMILIES


@dataclass(frozen=True)
class TextureResult:
    """Feature values by IBSI tag, with the context needed to interpret them."""

    features: dict[str, float]
    n_voxels: int
    n_levels: int
    discretisation: str


def discretise(values: np.ndarray, disc: Discretisation) -> tuple[np.ndarray, int]:
    """Map ROI intensities to grey levels 1..Ng; returns (levels, Ng)."""
    x = np.asarray(values, dtype=float)
    if disc.method == "fbn":
        if disc.n_bins < 1:
            raise TextureError(f"n_bins must be >= 1, got {disc.n_bins}")
        lo, hi = float(x.min()), float(x.max())
        if hi == lo:
            return np.ones(x.shape, dtype=np.int64), disc.n_bins
        lv = np.floor(disc.n_bins * (x - lo) / (hi - lo) + LEVEL_EPS).astype(np.int64) + 1
        return np.minimum(lv, disc.n_bins), disc.n_bins
    if disc.method != "fbs":
        raise TextureError(f"unknown discretisation method {disc.method!r}; use 'fbs' or 'fbn'")
    if not disc.bin_width > 0:
        raise TextureError(f"bin_width must be positive, got {disc.bin_width}")
    lo = float(x.min()) if disc.lower_bound is None else float(disc.lower_bound)
    if x.min() < lo:
        raise TextureError(f"ROI intensity {x.min():g} is below the discretisation lower bound {lo:g}")
    lv = np.floor((x - lo) / disc.bin_width + LEVEL_EPS).astype(np.int64) + 1
    return lv, int(lv.max())


def _validate(
    image: np.ndarray, mask: np.ndarray, spacing: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    img = np.asarray(image, dtype=float)
    roi = np.asarray(mask).astype(bool)
    if img.ndim != 3:
        raise TextureError(f"image must be a 3D array (z, y, x), got {img.ndim} dimensions")
    if roi.shape != img.shape:
        raise TextureError(f"mask shape {roi.shape} does not match image shape {img.shape}")
    if not roi.any():
        raise TextureError("mask is empty: no voxel inside the ROI")
    sp = tuple(float(s) for s in spacing)
    if len(sp) != 3 or not all(np.isfinite(s) and s > 0 for s in sp):
        raise TextureError(f"spacing must be three positive numbers (dz, dy, dx), got {tuple(spacing)}")
    if not np.isfinite(img[roi]).all():
        raise TextureError("image has NaN or infinite values inside the ROI")
    return img, roi, sp


def _texture(levels: np.ndarray, ng: int, families: Sequence[str]) -> dict[str, float]:
    """All texture-matrix families on a cropped grey-level volume (0 outside the ROI)."""
    out: dict[str, float] = {}
    for family in ("cm", "rlm"):
        if family in families:
            out.update(tf.directional_family(family, levels, ng))
    for family in ("szm", "dzm"):
        if family in families:
            out.update(tf.zone_family(family, levels))
    if "ngt" in families:
        out.update(tf.ngtdm_family(levels, ng))
    if "ngl" in families:
        out.update(tf.element_family("ngl", levels, tm.dependence))
    return out


def compute_features(
    image: np.ndarray,
    mask: np.ndarray,
    spacing: Sequence[float],
    settings: TextureSettings | None = None,
) -> TextureResult:
    """Compute IBSI 1 features of `image` inside `mask` (both (z, y, x)) with voxel `spacing` in mm."""
    cfg = settings or TextureSettings()
    unknown = set(cfg.families) - set(ALL_FAMILIES)
    if unknown:
        raise TextureError(f"unknown feature families {sorted(unknown)}; choose from {ALL_FAMILIES}")
    img, roi, sp = _validate(image, mask, spacing)
    values = img[roi]
    lv, ng = discretise(values, cfg.discretisation)
    feats: dict[str, float] = {}
    if "morph" in cfg.families:
        feats.update(morphology(img, roi, sp))
    if "loc" in cfg.families:
        feats.update(local_intensity(img, roi, sp))
    if "stat" in cfg.families:
        feats.update(intensity_statistics(values))
    if "ih" in cfg.families:
        feats.update(intensity_histogram(lv, ng))
    if "ivh" in cfg.families:
        feats.update(intensity_volume_histogram(lv, np.arange(1, ng + 1)))
    lo, hi = np.argwhere(roi).min(axis=0), np.argwhere(roi).max(axis=0) + 1
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    levels = np.zeros(img.shape, dtype=np.int64)
    levels[roi] = lv
    feats.update(_texture(levels[box], ng, cfg.families))
    return TextureResult(
        features=feats, n_voxels=int(roi.sum()), n_levels=ng, discretisation=cfg.discretisation.describe()
    )
