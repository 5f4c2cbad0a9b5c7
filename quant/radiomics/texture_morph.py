"""IBSI 1 morphological features (`morph_`) from the ROI mask mesh, voxel positions and intensities.

Not implemented: oriented minimum bounding box and minimum-volume enclosing ellipsoid densities
(morph_vol_dens_ombb, morph_area_dens_ombb, morph_vol_dens_mvee, morph_area_dens_mvee).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.fft import next_fast_len, rfftn
from scipy.spatial import ConvexHull
from scipy.spatial.distance import cdist, pdist
from scipy.special import ellipeinc, ellipkinc, eval_legendre

from quant.radiomics.volumetry import mask_mesh

Features = dict[str, float]

MORAN_CHUNK = 1024
PAIRWISE_MAX_VOXELS = 3000  # above this, Moran/Geary sums use FFT cross-correlation
FFT_MAX_CELLS = 2**23  # larger ROI bounding boxes (about 100^3 voxels) get NaN Moran/Geary (memory)


def _shape_features(volume: float, area: float) -> Features:
    """Volume/area ratios: compactness, sphericity, spherical disproportion, asphericity."""
    v2 = 36.0 * np.pi * volume**2
    return {
        "morph_av": area / volume,
        "morph_comp_1": volume / (np.sqrt(np.pi) * area**1.5),
        "morph_comp_2": v2 / area**3,
        "morph_sph_dispr": area / v2 ** (1 / 3),
        "morph_sphericity": v2 ** (1 / 3) / area,
        "morph_asphericity": (area**3 / v2) ** (1 / 3) - 1.0,
    }


def _ellipsoid_area(a: float, b: float, c: float, terms: int = 20) -> float:
    """Surface of an ellipsoid with semi-axes a >= b >= c (IBSI Legendre series approximation)."""
    alpha = np.sqrt(max(0.0, 1 - b**2 / a**2))
    beta = np.sqrt(max(0.0, 1 - c**2 / a**2))
    if alpha * beta > 0:
        x = (alpha**2 + beta**2) / (2 * alpha * beta)
        nu = np.arange(terms + 1)
        series = ((alpha * beta) ** nu / (1 - 4 * nu**2) * eval_legendre(nu, x)).sum()
        return float(4 * np.pi * a * b * series)
    if np.isclose(a, c):
        return float(4 * np.pi * a**2)
    # spheroid with a == b > c: exact formula via incomplete elliptic integrals
    phi = np.arccos(c / a)
    m = a**2 * (b**2 - c**2) / (b**2 * (a**2 - c**2))
    s = np.sin(phi)
    return float(
        2 * np.pi * c**2
        + 2 * np.pi * a * b / s * (ellipeinc(phi, m) * s**2 + ellipkinc(phi, m) * np.cos(phi) ** 2)
    )


def _pca_features(points: np.ndarray, volume: float, area: float) -> Features:
    """PCA axes of voxel positions, elongation, flatness and approximate enclosing ellipsoid densities."""
    if len(points) < 2:
        return {}
    lam = np.sort(np.clip(np.linalg.eigvalsh(np.cov(points, rowvar=False)), 0, None))[::-1]
    major, minor, least = lam
    a, b, c = 2 * np.sqrt(lam)
    feats = {
        "morph_pca_maj_axis": 4 * np.sqrt(major),
        "morph_pca_min_axis": 4 * np.sqrt(minor),
        "morph_pca_least_axis": 4 * np.sqrt(least),
        "morph_pca_elongation": np.sqrt(minor / major),
        "morph_pca_flatness": np.sqrt(least / major),
    }
    if c > 0:
        feats["morph_vol_dens_aee"] = volume / (4 * np.pi * a * b * c / 3)
        feats["morph_area_dens_aee"] = area / _ellipsoid_area(a, b, c)
    return {k: float(v) for k, v in feats.items()}


def _hull_features(verts: np.ndarray, volume: float, area: float) -> Features:
    """Maximum diameter, axis-aligned bounding box and convex hull densities from mesh vertices."""
    ext = verts.max(axis=0) - verts.min(axis=0)
    feats = {
        "morph_vol_dens_aabb": volume / float(np.prod(ext)),
        "morph_area_dens_aabb": area / float(2 * (ext[0] * ext[1] + ext[0] * ext[2] + ext[1] * ext[2])),
    }
    try:
        hull = ConvexHull(verts)
    except Exception:  # noqa: BLE001 - degenerate (flat) meshes have no 3D hull
        return feats
    hv = verts[hull.vertices]
    feats.update(
        morph_diam=float(np.sqrt(pdist(hv, "sqeuclidean").max())) if len(hv) > 1 else 0.0,
        morph_vol_dens_conv_hull=volume / hull.volume,
        morph_area_dens_conv_hull=area / hull.area,
    )
    return feats


def _pairwise_sums(points: np.ndarray, dev: np.ndarray) -> tuple[float, float, float]:
    """(sum w, sum w dev_k dev_l, sum_k dev_k^2 W_k) over voxel pairs with w = 1/distance (chunked)."""
    w_sum = cross = weighted_sq = 0.0
    for start in range(0, len(dev), MORAN_CHUNK):
        blk = slice(start, start + MORAN_CHUNK)
        d = cdist(points[blk], points)
        w = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
        rows = w.sum(axis=1)
        w_sum += float(rows.sum())
        cross += float(dev[blk] @ (w @ dev))
        weighted_sq += float(dev[blk] ** 2 @ rows)
    return w_sum, cross, weighted_sq


def _fft_sums(roi: np.ndarray, dev_img: np.ndarray, spacing: np.ndarray) -> tuple[float, float, float]:
    """Same sums as _pairwise_sums over all voxel offsets (exact on a grid), by Parseval's theorem.

    sum_t w(t) xcorr(a, b)(t) = (1/N) sum_k W_k A_k conj(B_k) on a zero-padded grid of at least 2n - 1 per axis
    (no wrap-around), with W the transform of the symmetric weight grid (hence real). Four real forward FFTs
    replace the three full cross-correlations (six forward and three inverse FFTs).
    """
    shape = tuple(next_fast_len(2 * n - 1, real=True) for n in roi.shape)
    axes = [np.arange(-(n - 1), n) * s for n, s in zip(roi.shape, spacing)]
    dist = np.sqrt(sum(g**2 for g in np.meshgrid(*axes, indexing="ij", sparse=True)))
    w = np.zeros(shape)
    w[tuple(slice(0, 2 * n - 1) for n in roi.shape)] = np.divide(
        1.0, dist, out=np.zeros(dist.shape), where=dist > 0
    )
    w = np.roll(w, [-(n - 1) for n in roi.shape], axis=(0, 1, 2))  # offset t at index t mod shape

    def spectrum(a: np.ndarray) -> np.ndarray:
        return rfftn(a, shape, workers=-1)

    weight_spectrum = spectrum(w).real
    # rfftn keeps half of the last axis: every other bin stands for itself and its mirror image.
    half = np.full(weight_spectrum.shape[-1], 2.0)
    half[0] = 1.0
    if shape[-1] % 2 == 0:
        half[-1] = 1.0
    weight_spectrum *= half / np.prod(shape)
    m, d = spectrum(roi.astype(float)), spectrum(dev_img)

    def weighted(a: np.ndarray, b: np.ndarray) -> float:
        return float((weight_spectrum * (a * b.conj()).real).sum())

    return weighted(m, m), weighted(d, d), weighted(spectrum(dev_img**2), m)


def spatial_autocorrelation(image: np.ndarray, roi: np.ndarray, spacing: Sequence[float]) -> Features:
    """Moran's I and Geary's C with inverse-distance weights over all ROI voxel pairs."""
    sp = np.asarray(spacing, dtype=float)
    values = np.asarray(image, dtype=float)[roi]
    n = len(values)
    dev = values - values.mean()
    denom = float((dev**2).sum())
    if n < 2 or denom == 0:
        return {"morph_moran_i": float("nan"), "morph_geary_c": float("nan")}
    if n <= PAIRWISE_MAX_VOXELS:
        w_sum, cross, weighted_sq = _pairwise_sums(np.argwhere(roi) * sp, dev)
    else:
        lo, hi = np.argwhere(roi).min(axis=0), np.argwhere(roi).max(axis=0) + 1
        if np.prod(2 * (hi - lo) - 1) > FFT_MAX_CELLS:
            return {"morph_moran_i": float("nan"), "morph_geary_c": float("nan")}
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        dev_img = np.zeros(roi.shape)
        dev_img[roi] = dev
        w_sum, cross, weighted_sq = _fft_sums(roi[box], dev_img[box], sp)
    # sum_kl w_kl (x_k - x_l)^2 = 2 sum_k dev_k^2 W_k - 2 sum_kl w_kl dev_k dev_l for symmetric w
    geary = 2.0 * weighted_sq - 2.0 * cross
    return {
        "morph_moran_i": n / w_sum * cross / denom,
        "morph_geary_c": (n - 1) / (2 * w_sum) * geary / denom,
    }


def morphology(image: np.ndarray, roi: np.ndarray, spacing: Sequence[float]) -> Features:
    """IBSI morphological features of the ROI (mask mesh, voxel positions, intensities)."""
    sp = np.asarray(spacing, dtype=float)
    mesh = mask_mesh(roi, tuple(sp))
    volume, area = mesh.volume, mesh.area
    points = np.argwhere(roi) * sp
    values = np.asarray(image, dtype=float)[roi]
    geo_centre = points.mean(axis=0)
    int_centre = (points * values[:, None]).sum(axis=0) / values.sum() if values.sum() != 0 else geo_centre
    feats: Features = {
        "morph_volume": volume,
        "morph_vol_approx": float(roi.sum() * sp.prod()),
        "morph_area_mesh": area,
        **_shape_features(volume, area),
        "morph_com": float(np.linalg.norm(geo_centre - int_centre)),
        **_pca_features(points, volume, area),
        **_hull_features(mesh.vertices, volume, area),
        "morph_integ_int": volume * float(values.mean()),
    }
    feats.update(spatial_autocorrelation(image, roi, sp))
    return {k: float(v) for k, v in feats.items()}
