"""Texture features (IBSI 1) from count matrices, and the IBSI 2D / 2.5D / 3D aggregation variants.

Families and tag prefixes: GLCM `cm_`, GLRLM `rlm_`, GLSZM `szm_`, GLDZM `dzm_`, NGTDM `ngt_`, NGLDM `ngl_`.
Tags follow the IBSI reference tables, e.g. `cm_contrast_3D_avg`, `szm_sze_2_5D`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from quant.radiomics import texture_matrices as tm
from quant.radiomics.texture_matrices import DIRECTIONS_2D, DIRECTIONS_3D, N_INPLANE, Matrix

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


def glcm_features(m: Matrix, ng: int) -> Features:
    """IBSI GLCM features of one symmetric co-occurrence matrix; ng is the number of grey levels."""
    keep = m.counts.sum(axis=1) > 0
    counts = m.counts[keep][:, keep]
    p = counts / counts.sum()
    g = m.rows[keep].astype(float)
    i, j = g[:, None], g[None, :]
    pi, pj = p.sum(axis=1), p.sum(axis=0)
    diff = np.abs(i - j).astype(int)
    p_diff = np.bincount(diff.ravel(), weights=p.ravel(), minlength=ng)
    p_sum = np.bincount((i + j).astype(int).ravel(), weights=p.ravel(), minlength=2 * ng + 1)
    k_diff, k_sum = np.arange(len(p_diff)), np.arange(len(p_sum))
    mu = float((i * p).sum())
    mu_i, mu_j = float((g * pi).sum()), float((g * pj).sum())
    sd_i = np.sqrt(((g - mu_i) ** 2 * pi).sum())
    sd_j = np.sqrt(((g - mu_j) ** 2 * pj).sum())
    diff_avg = float((k_diff * p_diff).sum())
    sum_avg = float((k_sum * p_sum).sum())
    cluster = i + j - mu_i - mu_j
    hxy = entropy(p)
    pipj = pi[:, None] * pj[None, :]
    nz = p > 0
    hxy1 = float(-(p[nz] * np.log2(pipj[nz])).sum())
    hxy2 = entropy(pipj)
    hx = entropy(pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = ((i * j * p).sum() - mu_i * mu_j) / (sd_i * sd_j)
        info1 = (hxy - hxy1) / hx
    return {
        "joint_max": float(p.max()),
        "joint_avg": mu,
        "joint_var": float(((i - mu) ** 2 * p).sum()),
        "joint_entr": hxy,
        "diff_avg": diff_avg,
        "diff_var": float(((k_diff - diff_avg) ** 2 * p_diff).sum()),
        "diff_entr": entropy(p_diff),
        "sum_avg": sum_avg,
        "sum_var": float(((k_sum - sum_avg) ** 2 * p_sum).sum()),
        "sum_entr": entropy(p_sum),
        "energy": float((p**2).sum()),
        "contrast": float(((i - j) ** 2 * p).sum()),
        "dissimilarity": float((np.abs(i - j) * p).sum()),
        "inv_diff": float((p / (1 + np.abs(i - j))).sum()),
        "inv_diff_norm": float((p / (1 + np.abs(i - j) / ng)).sum()),
        "inv_diff_mom": float((p / (1 + (i - j) ** 2)).sum()),
        "inv_diff_mom_norm": float((p / (1 + (i - j) ** 2 / ng**2)).sum()),
        "inv_var": float((p_diff[1:] / k_diff[1:] ** 2).sum()),
        "corr": float(corr),
        "auto_corr": float((i * j * p).sum()),
        "clust_tend": float((cluster**2 * p).sum()),
        "clust_shade": float((cluster**3 * p).sum()),
        "clust_prom": float((cluster**4 * p).sum()),
        "info_corr1": float(info1),
        "info_corr2": float(np.sqrt(max(0.0, 1 - np.exp(-2 * (hxy2 - hxy))))),
    }


def size_features(m: Matrix, nv: float) -> Features:
    """Features shared by GLRLM, GLSZM, GLDZM and NGLDM; j is the run length/size/distance/dependence."""
    keep_i, keep_j = m.counts.sum(axis=1) > 0, m.counts.sum(axis=0) > 0
    counts = m.counts[keep_i][:, keep_j]
    ns = counts.sum()
    p = counts / ns
    i = m.rows[keep_i].astype(float)[:, None]
    j = m.cols[keep_j].astype(float)[None, :]
    mu_i, mu_j = float((i * p).sum()), float((j * p).sum())
    return {
        "short": float((p / j**2).sum()),
        "long": float((p * j**2).sum()),
        "low": float((p / i**2).sum()),
        "high": float((p * i**2).sum()),
        "short_low": float((p / (i**2 * j**2)).sum()),
        "short_high": float((p * i**2 / j**2).sum()),
        "long_low": float((p * j**2 / i**2).sum()),
        "long_high": float((p * i**2 * j**2).sum()),
        "glnu": float((counts.sum(axis=1) ** 2).sum() / ns),
        "glnu_norm": float((counts.sum(axis=1) ** 2).sum() / ns**2),
        "jnu": float((counts.sum(axis=0) ** 2).sum() / ns),
        "jnu_norm": float((counts.sum(axis=0) ** 2).sum() / ns**2),
        "perc": float(ns / nv),
        "gl_var": float(((i - mu_i) ** 2 * p).sum()),
        "j_var": float(((j - mu_j) ** 2 * p).sum()),
        "j_entr": entropy(p),
        "energy": float((p**2).sum()),
    }


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


def _merge(mats: list[Matrix]) -> Matrix:
    return sum(mats[1:], mats[0])


def _finish(family: str, variants: dict[str, list[Features]]) -> Features:
    out: Features = {}
    for suffix, rows in variants.items():
        out.update(_tagged(family, suffix, mean_features(rows)))
    return out


def _slice_voxels(levels: np.ndarray) -> np.ndarray:
    return (levels > 0).reshape(levels.shape[0], -1).sum(axis=1)


def directional_family(
    family: str,
    levels: np.ndarray,
    build: Callable[[np.ndarray, np.ndarray, Sequence[tuple[int, int, int]]], list[Matrix]],
    fn: Callable[[Matrix, float], Features],
) -> Features:
    """GLCM/GLRLM: 2D/2.5D/3D, averaged over directions (avg) or from merged matrices (comb).

    2D matrices are built one slice at a time so memory stays bounded.
    """
    idx, values = tm.compact(levels)
    nv_z = _slice_voxels(levels).astype(float)
    nv, ip, nd = float(nv_z.sum()), N_INPLANE, len(DIRECTIONS_3D)
    out: dict[str, list[Features]] = {k: [] for k in ("2D_avg", "2D_comb", "2_5D_avg", "2_5D_comb")}
    for z in np.flatnonzero(nv_z):
        mats = build(idx[z : z + 1], values, DIRECTIONS_2D)
        out["2D_avg"] += [fn(m, nv_z[z]) for m in mats if m.counts.sum() > 0]
        merged = _merge(mats)
        if merged.counts.sum() > 0:
            out["2D_comb"].append(fn(merged, ip * nv_z[z]))
    m3 = build(idx, values, DIRECTIONS_3D)
    out["2_5D_avg"] = [fn(m, nv) for m in m3[:ip] if m.counts.sum() > 0]
    out["3D_avg"] = [fn(m, nv) for m in m3 if m.counts.sum() > 0]
    for key, mats, n in (("2_5D_comb", m3[:ip], ip), ("3D_comb", m3, nd)):
        merged = _merge(mats)
        out[key] = [fn(merged, n * nv)] if merged.counts.sum() > 0 else []
    return _finish(family, out)


def element_family(
    family: str, levels: np.ndarray, elements: Callable[..., tuple[np.ndarray, ...]]
) -> Features:
    """GLSZM/GLDZM/NGLDM from per-element (level, j) lists: 2D per-slice average, 2.5D merged, 3D."""
    nv_z = _slice_voxels(levels).astype(float)
    out: dict[str, list[Features]] = {"2D": [], "2_5D": [], "3D": []}
    rows, cols = [], []
    for z in np.flatnonzero(nv_z):
        lv, j = elements(levels[z : z + 1], two_d=True)
        if len(lv):
            out["2D"].append(size_features(tm.pair_matrix(lv, j), nv_z[z]))
            rows.append(lv)
            cols.append(j)
    if rows:
        out["2_5D"] = [size_features(tm.pair_matrix(np.concatenate(rows), np.concatenate(cols)), nv_z.sum())]
    lv, j = elements(levels, two_d=False)
    if len(lv):
        out["3D"] = [size_features(tm.pair_matrix(lv, j), nv_z.sum())]
    return _finish(family, out)


def zone_family(family: str, levels: np.ndarray) -> Features:
    """GLSZM (`szm`, j = zone size) or GLDZM (`dzm`, j = zone distance to the ROI edge)."""
    col = 1 if family == "szm" else 2

    def elements(lv: np.ndarray, two_d: bool) -> tuple[np.ndarray, np.ndarray]:
        zl = tm.zones(lv, two_d)
        return zl[0], zl[col]

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
    s_sum, n_sum = np.zeros(ng), np.zeros(ng)
    per_slice = []
    for z in np.flatnonzero(_slice_voxels(levels)):
        s, n = tm.ngtdm(levels[z : z + 1], ng, two_d=True)
        if n.sum() > 0:
            per_slice.append(ngtdm_features(s, n))
            s_sum += s
            n_sum += n
    s3, n3 = tm.ngtdm(levels, ng, two_d=False)
    variants = {
        "2D": mean_features(per_slice),
        "2_5D": ngtdm_features(s_sum, n_sum) if n_sum.sum() > 0 else {},
        "3D": ngtdm_features(s3, n3) if n3.sum() > 0 else {},
    }
    out: Features = {}
    for suffix, feats in variants.items():
        out.update({f"ngt_{k}_{suffix}": v for k, v in feats.items()})
    return out
