"""Texture features (IBSI 1) from count matrices, and the IBSI 2D / 2.5D / 3D aggregation variants.

Families and tag prefixes: GLCM `cm_`, GLRLM `rlm_`, GLSZM `szm_`, GLDZM `dzm_`, NGTDM `ngt_`, NGLDM `ngl_`.
Tags follow the IBSI reference tables, e.g. `cm_contrast_3D_avg`, `szm_sze_2_5D`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from scipy.special import xlogy

from quant.radiomics import texture_matrices as tm
from quant.radiomics.texture_matrices import DIRECTIONS_3D, N_INPLANE, Matrix

Features = dict[str, float]


def entropy(p: np.ndarray) -> float:
    """Shannon entropy in bits of a probability array (zeros ignored)."""
    q = p[p > 0]
    return float(-(q * np.log2(q)).sum())


def mean_features(items: Iterable[Features]) -> Features:
    """Average each feature over matrices; undefined (NaN) values are ignored."""
    rows = list(items)
    if not rows:
        return {}
    out: Features = {}
    for key in rows[0]:
        vals = np.array([r[key] for r in rows], dtype=float)
        out[key] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    return out


def _entropy_rows(p: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits of each row of a (batch, ...) probability array."""
    return -xlogy(p, p).reshape(len(p), -1).sum(axis=1) / np.log(2.0)


def glcm_feature_batch(counts: np.ndarray, g: np.ndarray, ng: int) -> dict[str, np.ndarray]:
    """IBSI GLCM features of a batch of symmetric co-occurrence matrices (batch, k, k) whose rows and columns are
    the grey levels `g`; ng is the number of grey levels. Rows of zeros contribute nothing to any feature."""
    b, k = counts.shape[0], len(g)
    p = counts / counts.sum(axis=(1, 2), dtype=float)[:, None, None]
    i, j = g.astype(float)[:, None], g.astype(float)[None, :]
    pi, pj = p.sum(axis=2), p.sum(axis=1)
    diff = np.abs(i - j).astype(int).ravel()
    flat = p.reshape(b, k * k)
    p_diff = flat @ (diff[:, None] == np.arange(ng)[None, :])
    p_sum = flat @ ((i + j).astype(int).ravel()[:, None] == np.arange(2 * ng + 1)[None, :])
    k_diff, k_sum = np.arange(ng), np.arange(2 * ng + 1)
    gf = g.astype(float)
    mu = (p * i).sum(axis=(1, 2))
    mu_i, mu_j = pi @ gf, pj @ gf
    sd_i = np.sqrt((((gf[None, :] - mu_i[:, None]) ** 2) * pi).sum(axis=1))
    sd_j = np.sqrt((((gf[None, :] - mu_j[:, None]) ** 2) * pj).sum(axis=1))
    diff_avg, sum_avg = p_diff @ k_diff, p_sum @ k_sum
    cluster = (i + j)[None] - (mu_i + mu_j)[:, None, None]
    hxy = _entropy_rows(p)
    pipj = pi[:, :, None] * pj[:, None, :]
    hxy1 = -xlogy(p, pipj).sum(axis=(1, 2)) / np.log(2.0)
    hxy2 = _entropy_rows(pipj)
    hx = _entropy_rows(pi)
    auto_corr = (p * (i * j)).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (auto_corr - mu_i * mu_j) / (sd_i * sd_j)
        info1 = (hxy - hxy1) / hx

    def weighted(w: np.ndarray) -> np.ndarray:
        return (p * w).sum(axis=(1, 2))

    return {
        "joint_max": p.max(axis=(1, 2)),
        "joint_avg": mu,
        "joint_var": (((i[None] - mu[:, None, None]) ** 2) * p).sum(axis=(1, 2)),
        "joint_entr": hxy,
        "diff_avg": diff_avg,
        "diff_var": (((k_diff[None, :] - diff_avg[:, None]) ** 2) * p_diff).sum(axis=1),
        "diff_entr": _entropy_rows(p_diff),
        "sum_avg": sum_avg,
        "sum_var": (((k_sum[None, :] - sum_avg[:, None]) ** 2) * p_sum).sum(axis=1),
        "sum_entr": _entropy_rows(p_sum),
        "energy": (p**2).sum(axis=(1, 2)),
        "contrast": weighted((i - j) ** 2),
        "dissimilarity": weighted(np.abs(i - j)),
        "inv_diff": weighted(1 / (1 + np.abs(i - j))),
        "inv_diff_norm": weighted(1 / (1 + np.abs(i - j) / ng)),
        "inv_diff_mom": weighted(1 / (1 + (i - j) ** 2)),
        "inv_diff_mom_norm": weighted(1 / (1 + (i - j) ** 2 / ng**2)),
        "inv_var": p_diff[:, 1:] @ (1.0 / k_diff[1:] ** 2),
        "corr": corr,
        "auto_corr": auto_corr,
        "clust_tend": (cluster**2 * p).sum(axis=(1, 2)),
        "clust_shade": (cluster**3 * p).sum(axis=(1, 2)),
        "clust_prom": (cluster**4 * p).sum(axis=(1, 2)),
        "info_corr1": info1,
        "info_corr2": np.sqrt(np.maximum(0.0, 1 - np.exp(-2 * (hxy2 - hxy)))),
    }


def glcm_features(m: Matrix, ng: int) -> Features:
    """IBSI GLCM features of one symmetric co-occurrence matrix; ng is the number of grey levels."""
    return {key: float(v[0]) for key, v in glcm_feature_batch(m.counts[None], m.rows, ng).items()}


def size_feature_batch(
    counts: np.ndarray, rows: np.ndarray, cols: np.ndarray, nv: np.ndarray
) -> dict[str, np.ndarray]:
    """Features shared by GLRLM, GLSZM, GLDZM and NGLDM of a batch of count matrices (batch, rows, cols), where
    rows are grey levels and cols the run length/size/distance/dependence j; nv is each matrix's voxel count."""
    ns = counts.sum(axis=(1, 2), dtype=float)
    p = counts / ns[:, None, None]
    i = rows.astype(float)[None, :, None]
    j = cols.astype(float)[None, None, :]
    mu_i, mu_j = (i * p).sum(axis=(1, 2)), (j * p).sum(axis=(1, 2))
    by_level, by_j = counts.sum(axis=2, dtype=float), counts.sum(axis=1, dtype=float)

    def weighted(w: np.ndarray) -> np.ndarray:
        return (p * w).sum(axis=(1, 2))

    return {
        "short": weighted(1 / j**2),
        "long": weighted(j**2),
        "low": weighted(1 / i**2),
        "high": weighted(i**2),
        "short_low": weighted(1 / (i**2 * j**2)),
        "short_high": weighted(i**2 / j**2),
        "long_low": weighted(j**2 / i**2),
        "long_high": weighted(i**2 * j**2),
        "glnu": (by_level**2).sum(axis=1) / ns,
        "glnu_norm": (by_level**2).sum(axis=1) / ns**2,
        "jnu": (by_j**2).sum(axis=1) / ns,
        "jnu_norm": (by_j**2).sum(axis=1) / ns**2,
        "perc": ns / np.asarray(nv, dtype=float),
        "gl_var": weighted((i - mu_i[:, None, None]) ** 2),
        "j_var": weighted((j - mu_j[:, None, None]) ** 2),
        "j_entr": _entropy_rows(p),
        "energy": (p**2).sum(axis=(1, 2)),
    }


def size_features(m: Matrix, nv: float) -> Features:
    """Features shared by GLRLM, GLSZM, GLDZM and NGLDM; j is the run length/size/distance/dependence."""
    batch = size_feature_batch(m.counts[None], m.rows, m.cols, np.array([nv]))
    return {key: float(v[0]) for key, v in batch.items()}


SIZE_NAMES: dict[str, dict[str, str]] = {
    "rlm": dict(
        zip(
            ("short", "long", "low", "high", "short_low", "short_high", "long_low", "long_high"),
            ("sre", "lre", "lgre", "hgre", "srlge", "srhge", "lrlge", "lrhge"),
        ),
        glnu="glnu",
        glnu_norm="glnu_norm",
        jnu="rlnu",
        jnu_norm="rlnu_norm",
        perc="r_perc",
        gl_var="gl_var",
        j_var="rl_var",
        j_entr="rl_entr",
    ),
    "szm": dict(
        zip(
            ("short", "long", "low", "high", "short_low", "short_high", "long_low", "long_high"),
            ("sze", "lze", "lgze", "hgze", "szlge", "szhge", "lzlge", "lzhge"),
        ),
        glnu="glnu",
        glnu_norm="glnu_norm",
        jnu="zsnu",
        jnu_norm="zsnu_norm",
        perc="z_perc",
        gl_var="gl_var",
        j_var="zs_var",
        j_entr="zs_entr",
    ),
    "dzm": dict(
        zip(
            ("short", "long", "low", "high", "short_low", "short_high", "long_low", "long_high"),
            ("sde", "lde", "lgze", "hgze", "sdlge", "sdhge", "ldlge", "ldhge"),
        ),
        glnu="glnu",
        glnu_norm="glnu_norm",
        jnu="zdnu",
        jnu_norm="zdnu_norm",
        perc="z_perc",
        gl_var="gl_var",
        j_var="zd_var",
        j_entr="zd_entr",
    ),
    "ngl": dict(
        zip(
            ("short", "long", "low", "high", "short_low", "short_high", "long_low", "long_high"),
            ("lde", "hde", "lgce", "hgce", "ldlge", "ldhge", "hdlge", "hdhge"),
        ),
        glnu="glnu",
        glnu_norm="glnu_norm",
        jnu="dcnu",
        jnu_norm="dcnu_norm",
        perc="dc_perc",
        gl_var="gl_var",
        j_var="dc_var",
        j_entr="dc_entr",
        energy="dc_energy",
    ),
}


def _tagged(family: str, suffix: str, feats: Features) -> Features:
    names = SIZE_NAMES.get(family)
    if names is None:
        return {f"{family}_{k}_{suffix}": v for k, v in feats.items()}
    return {f"{family}_{names[k]}_{suffix}": v for k, v in feats.items() if k in names}


def _mean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


BatchFeatures = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], dict[str, np.ndarray]]


def _averaged(batch_fn: BatchFeatures, counts: np.ndarray, rows, cols, nv: np.ndarray) -> Features:
    """Each feature averaged over the non-empty matrices of a batch (NaN values ignored); {} when all are empty."""
    keep = counts.reshape(len(counts), -1).sum(axis=1) > 0
    if not keep.any():
        return {}
    return {key: _mean(v) for key, v in batch_fn(counts[keep], rows, cols, nv[keep]).items()}


def _finish(family: str, variants: dict[str, Features]) -> Features:
    out: Features = {}
    for suffix, feats in variants.items():
        out.update(_tagged(family, suffix, feats))
    return out


def _slice_voxels(levels: np.ndarray) -> np.ndarray:
    return (levels > 0).reshape(levels.shape[0], -1).sum(axis=1)


def _glcm_batch(ng: int) -> BatchFeatures:
    return lambda counts, rows, _cols, _nv: glcm_feature_batch(counts, rows, ng)


def directional_family(family: str, levels: np.ndarray, ng: int) -> Features:
    """GLCM (`cm`) or GLRLM (`rlm`): 2D/2.5D/3D, averaged over directions (avg) or from merged matrices (comb).

    In-plane pairs and runs never leave their slice, so one pass per direction over the volume, counting each
    by its slice, gives the 2D matrices (per slice) and the 3D ones (their sum).
    """
    idx, values = tm.compact(levels)
    k = len(values)
    if family == "cm":
        build, batch_fn, cols = tm.cooccurrence_slices, _glcm_batch(ng), values
    else:
        build, batch_fn, cols = tm.run_length_slices, size_feature_batch, np.arange(1, max(idx.shape) + 1)
    nv_z = _slice_voxels(levels).astype(float)
    zs = np.flatnonzero(nv_z)
    nv, ip, nd = float(nv_z.sum()), N_INPLANE, len(DIRECTIONS_3D)
    in_plane, totals = [], []
    for n, d in enumerate(DIRECTIONS_3D):
        stack = build(idx, k, d, n < ip)
        if n < ip:
            in_plane.append(stack[zs])
        totals.append(stack.sum(axis=0))
    slices = np.concatenate(in_plane)
    merged_slices = sum(in_plane[1:], in_plane[0])
    m3 = np.stack(totals)
    whole = np.full(nd, nv)
    return _finish(
        family,
        {
            "2D_avg": _averaged(batch_fn, slices, values, cols, np.tile(nv_z[zs], ip)),
            "2D_comb": _averaged(batch_fn, merged_slices, values, cols, ip * nv_z[zs]),
            "2_5D_avg": _averaged(batch_fn, m3[:ip], values, cols, whole[:ip]),
            "2_5D_comb": _averaged(batch_fn, m3[:ip].sum(axis=0)[None], values, cols, np.array([ip * nv])),
            "3D_avg": _averaged(batch_fn, m3, values, cols, whole),
            "3D_comb": _averaged(batch_fn, m3.sum(axis=0)[None], values, cols, np.array([nd * nv])),
        },
    )


def _pair_stack(lv: np.ndarray, j: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """Count matrices (slice, level, j) of (level, j) elements grouped by slice, on the axes of the values present."""
    rows, ri = np.unique(lv, return_inverse=True)
    cols, ci = np.unique(j, return_inverse=True)
    zs, zi = np.unique(z, return_inverse=True)
    shape = (len(zs), len(rows), len(cols))
    counts = np.bincount((zi * shape[1] + ri) * shape[2] + ci, minlength=int(np.prod(shape))).reshape(shape)
    return counts, rows, cols, zs


def element_family(
    family: str, levels: np.ndarray, elements: Callable[..., tuple[np.ndarray, ...]]
) -> Features:
    """GLSZM/GLDZM/NGLDM from per-element (level, j, slice) lists: 2D per-slice average, 2.5D merged, 3D."""
    nv_z = _slice_voxels(levels).astype(float)
    out: dict[str, Features] = {"2D": {}, "2_5D": {}, "3D": {}}
    lv, j, z = elements(levels, two_d=True)
    if len(lv):
        counts, rows, cols, zs = _pair_stack(lv, j, z)
        out["2D"] = _averaged(size_feature_batch, counts, rows, cols, nv_z[zs])
        out["2_5D"] = _averaged(size_feature_batch, counts.sum(axis=0)[None], rows, cols, nv_z.sum()[None])
    lv, j, _z = elements(levels, two_d=False)
    if len(lv):
        counts, rows, cols, _zs = _pair_stack(lv, j, np.zeros(len(lv), dtype=np.int64))
        out["3D"] = _averaged(size_feature_batch, counts, rows, cols, nv_z.sum()[None])
    return _finish(family, out)


def zone_family(family: str, levels: np.ndarray) -> Features:
    """GLSZM (`szm`, j = zone size) or GLDZM (`dzm`, j = zone distance to the ROI edge)."""
    col = 1 if family == "szm" else 2

    def elements(lv: np.ndarray, two_d: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        zl = tm.zones(lv, two_d)
        return zl[0], zl[col], zl[3]

    return element_family(family, levels, elements)


def ngtdm_features(s: np.ndarray, n: np.ndarray) -> Features:
    """IBSI NGTDM features from s_i and n_i (voxels with at least one ROI neighbour)."""
    nvc = n.sum()
    p = n / nvc
    present = p > 0
    g = np.arange(1, len(p) + 1, dtype=float)[present]
    pp, sp = p[present], s[present]
    ngp = len(pp)
    pi, pj = pp[:, None], pp[None, :]
    gi, gj = g[:, None], g[None, :]
    ps = float((pp * sp).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        contrast = (pi * pj * (gi - gj) ** 2).sum() / (ngp * (ngp - 1)) * sp.sum() / nvc
        busy_den = np.abs(gi * pi - gj * pj).sum()
        complexity = (np.abs(gi - gj) * (pi * sp[:, None] + pj * sp[None, :]) / (pi + pj)).sum() / nvc
        strength = ((pi + pj) * (gi - gj) ** 2).sum() / sp.sum()
    return {
        "coarseness": 1.0 / ps if ps > 0 else 1e6,
        "contrast": float(contrast),
        "busyness": float(ps / busy_den) if busy_den > 0 else 0.0,
        "complexity": float(complexity),
        "strength": float(strength) if sp.sum() > 0 else 0.0,
    }


def ngtdm_family(levels: np.ndarray, ng: int) -> Features:
    """NGTDM 2D (per-slice average), 2.5D (slices merged) and 3D."""
    s2, n2 = tm.ngtdm(levels, ng, two_d=True)
    per_slice = [ngtdm_features(s, n) for s, n in zip(s2, n2) if n.sum() > 0]
    s_sum, n_sum = s2.sum(axis=0), n2.sum(axis=0)
    (s3,), (n3,) = tm.ngtdm(levels, ng, two_d=False)
    variants = {
        "2D": mean_features(per_slice),
        "2_5D": ngtdm_features(s_sum, n_sum) if n_sum.sum() > 0 else {},
        "3D": ngtdm_features(s3, n3) if n3.sum() > 0 else {},
    }
    out: Features = {}
    for suffix, feats in variants.items():
        out.update({f"ngt_{k}_{suffix}": v for k, v in feats.items()})
    return out
