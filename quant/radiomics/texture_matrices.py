"""Texture matrix construction (IBSI 1): GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM.

Input is a grey-level array `levels` indexed (z, y, x) with values 1..Ng inside the ROI and 0 outside.
To keep memory bounded for large Ng, co-occurrence and run-length matrices use compact axes (only the
grey levels present, `values`), and zone / dependence matrices are built from per-element lists
(one entry per zone or voxel). 2D matrices come from calling these functions on one axial slice
(`levels[z : z + 1]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy import ndimage

# 13 unique 3D directions at Chebyshev distance 1; the first four lie in the axial plane.
DIRECTIONS_3D: tuple[tuple[int, int, int], ...] = (
    (0, 0, 1),
    (0, 1, 0),
    (0, 1, 1),
    (0, 1, -1),
    *(d for d in product((-1, 0, 1), repeat=3) if d[0] == 1),
)
N_INPLANE = 4
DIRECTIONS_2D = DIRECTIONS_3D[:N_INPLANE]
NEIGHBOURS_3D = tuple(d for d in product((-1, 0, 1), repeat=3) if d != (0, 0, 0))
NEIGHBOURS_2D = tuple(d for d in NEIGHBOURS_3D if d[0] == 0)


@dataclass(frozen=True)
class Matrix:
    """Count matrix with the grey level of each row and the j value (run length, size...) of each column."""

    counts: np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    def __add__(self, other: Matrix) -> Matrix:
        return Matrix(self.counts + other.counts, self.rows, self.cols)


def shifted(a: np.ndarray, offset: tuple[int, ...], fill: int = 0) -> np.ndarray:
    """Array b with b[p] = a[p + offset], `fill` where p + offset is outside the array."""
    out = np.full_like(a, fill)
    if any(abs(o) >= n for o, n in zip(offset, a.shape)):
        return out
    src = tuple(slice(max(o, 0), n + min(o, 0)) for o, n in zip(offset, a.shape))
    dst = tuple(slice(max(-o, 0), n + min(-o, 0)) for o, n in zip(offset, a.shape))
    out[dst] = a[src]
    return out


def compact(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index array (0 outside, 1..k for the k grey levels present) and the present grey levels."""
    values = np.unique(levels[levels > 0])
    idx = np.zeros(levels.shape, dtype=np.int64)
    inside = levels > 0
    idx[inside] = np.searchsorted(values, levels[inside]) + 1
    return idx, values


def pair_matrix(rows: np.ndarray, cols: np.ndarray) -> Matrix:
    """Count matrix of (row value, column value) pairs on the axes of the values present."""
    rv, ri = np.unique(rows, return_inverse=True)
    cv, ci = np.unique(cols, return_inverse=True)
    counts = np.bincount(ri * len(cv) + ci, minlength=len(rv) * len(cv)).reshape(len(rv), len(cv))
    return Matrix(counts, rv, cv)


def cooccurrence(idx: np.ndarray, values: np.ndarray, directions) -> list[Matrix]:
    """Symmetric GLCM counts (distance 1) for each direction, on the compact level axis."""
    k = len(values)
    out = []
    for d in directions:
        nb = shifted(idx, d)
        ok = (idx > 0) & (nb > 0)
        m = np.bincount((idx[ok] - 1) * k + nb[ok] - 1, minlength=k * k).reshape(k, k)
        out.append(Matrix(m + m.T, values, values))
    return out


def run_lengths(idx: np.ndarray, values: np.ndarray, directions) -> list[Matrix]:
    """GLRLM counts (level, run length 1..max) for each direction."""
    k, max_run = len(values), max(idx.shape)
    lengths = np.arange(1, max_run + 1)
    out = []
    for d in directions:
        start = (idx > 0) & (shifted(idx, tuple(-o for o in d)) != idx)
        length = start.astype(np.int64)
        cont = start.copy()
        step = 1
        while cont.any():
            cont &= shifted(idx, tuple(step * o for o in d)) == idx
            length += cont
            step += 1
        flat = (idx[start] - 1) * max_run + length[start] - 1
        out.append(Matrix(np.bincount(flat, minlength=k * max_run).reshape(k, max_run), values, lengths))
    return out


def edge_distance(mask: np.ndarray, two_d: bool) -> np.ndarray:
    """Taxicab distance of each ROI voxel to the ROI edge (1 for voxels touching the outside)."""
    padded = np.pad(mask.astype(bool), 1)
    if two_d:
        metric = np.zeros((3, 3, 3), dtype=bool)
        metric[1] = ndimage.generate_binary_structure(2, 1)
    else:
        metric = ndimage.generate_binary_structure(3, 1)
    dist = ndimage.distance_transform_cdt(padded, metric=metric)
    return dist[1:-1, 1:-1, 1:-1]


def zones(levels: np.ndarray, two_d: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected same-level zones (8/26-connected): per zone (grey level, size, edge distance)."""
    structure = np.ones((3, 3, 3), dtype=bool)
    if two_d:
        structure[0] = structure[2] = False
    dist = edge_distance(levels > 0, two_d)
    zl, zs, zd = [], [], []
    for g in np.unique(levels[levels > 0]):
        lab, n = ndimage.label(levels == g, structure=structure)
        inside = lab > 0
        sizes = np.bincount(lab[inside], minlength=n + 1)[1:]
        mind = np.full(n + 1, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(mind, lab[inside], dist[inside].astype(np.int64))
        zl.append(np.full(n, g, dtype=np.int64))
        zs.append(sizes)
        zd.append(mind[1:])
    if not zl:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(zl), np.concatenate(zs), np.concatenate(zd)


def _neighbour_stats(levels: np.ndarray, two_d: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per voxel: sum of ROI neighbour levels, number of ROI neighbours, number with the same level."""
    total = np.zeros(levels.shape, dtype=np.float64)
    count = np.zeros(levels.shape, dtype=np.int64)
    same = np.zeros(levels.shape, dtype=np.int64)
    for d in NEIGHBOURS_2D if two_d else NEIGHBOURS_3D:
        nb = shifted(levels, d)
        total += nb
        count += nb > 0
        same += nb == levels
    return total, count, same


def ngtdm(levels: np.ndarray, n_levels: int, two_d: bool) -> tuple[np.ndarray, np.ndarray]:
    """s_i (sum |i - neighbourhood mean|) and n_i; voxels without ROI neighbours are excluded."""
    total, count, _ = _neighbour_stats(levels, two_d)
    ok = (levels > 0) & (count > 0)
    lv = levels[ok] - 1
    diff = np.abs(levels[ok] - total[ok] / count[ok])
    return np.bincount(lv, weights=diff, minlength=n_levels), np.bincount(lv, minlength=n_levels)


def dependence(levels: np.ndarray, two_d: bool) -> tuple[np.ndarray, np.ndarray]:
    """NGLDM elements per ROI voxel: (grey level, same-level ROI neighbours + 1); coarseness 0, distance 1."""
    _, _, same = _neighbour_stats(levels, two_d)
    ok = levels > 0
    return levels[ok], same[ok] + 1
