"""Texture matrix construction (IBSI 1): GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM.

Input is a grey-level array `levels` indexed (z, y, x) with values 1..Ng inside the ROI and 0 outside.
Co-occurrence and run-length matrices use compact axes (only the grey levels present, `values`); zone and
dependence matrices are built from per-element lists (one entry per zone or voxel). 2D matrices are not built
slice by slice: in-plane pairs, runs, zones and neighbourhoods never leave their slice, so one pass over the
volume that also records each element's slice gives every slice's 2D matrix at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy import ndimage
from skimage import measure

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


def _slice_index(shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.arange(shape[0])[:, None, None], shape)


def cooccurrence_slices(idx: np.ndarray, k: int, d: tuple[int, int, int], per_slice: bool) -> np.ndarray:
    """Symmetric GLCM counts (distance 1) along `d` on the compact level axis: (slices, k, k) with each pair in the
    slice of its first voxel when `per_slice`, else (1, k, k). In-plane pairs never cross slices, so the per-slice
    matrices of an in-plane direction are the 2D matrices and their sum the 3D one."""
    nb = shifted(idx, d)
    ok = (idx > 0) & (nb > 0)
    code = (idx[ok] - 1) * k + nb[ok] - 1
    nz = idx.shape[0] if per_slice else 1
    if per_slice:
        code += _slice_index(idx.shape)[ok] * (k * k)
    m = np.bincount(code, minlength=nz * k * k).reshape(nz, k, k)
    return m + m.transpose(0, 2, 1)


def run_length_slices(idx: np.ndarray, k: int, d: tuple[int, int, int], per_slice: bool) -> np.ndarray:
    """GLRLM counts (level, run length 1..longest axis) along `d`: (slices, k, n) by the slice of each run's first
    voxel when `per_slice`, else (1, k, n). Runs are walked from their starts only, so the work grows with the
    ROI's voxels rather than with the longest run times the volume."""
    max_run = max(idx.shape)
    start = (idx > 0) & (shifted(idx, (-d[0], -d[1], -d[2])) != idx)
    pos = np.nonzero(start)
    level = idx[pos]
    length = np.ones(len(level), dtype=np.int64)
    active = np.arange(len(level))
    step = 1
    while active.size:
        nxt = [pos[a][active] + step * d[a] for a in range(3)]
        inside = np.ones(active.size, dtype=bool)
        for a in range(3):
            inside &= (nxt[a] >= 0) & (nxt[a] < idx.shape[a])
        active = active[inside]
        same = idx[tuple(c[inside] for c in nxt)] == level[active]
        active = active[same]
        length[active] += 1
        step += 1
    code = (level - 1) * max_run + length - 1
    nz = idx.shape[0] if per_slice else 1
    if per_slice:
        code += pos[0] * (k * max_run)
    return np.bincount(code, minlength=nz * k * max_run).reshape(nz, k, max_run)


def cooccurrence(idx: np.ndarray, values: np.ndarray, directions) -> list[Matrix]:
    """Symmetric GLCM counts (distance 1) for each direction, on the compact level axis."""
    k = len(values)
    return [Matrix(cooccurrence_slices(idx, k, d, False)[0], values, values) for d in directions]


def run_lengths(idx: np.ndarray, values: np.ndarray, directions) -> list[Matrix]:
    """GLRLM counts (level, run length 1..max) for each direction."""
    lengths = np.arange(1, max(idx.shape) + 1)
    return [Matrix(run_length_slices(idx, len(values), d, False)[0], values, lengths) for d in directions]


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


def zones(levels: np.ndarray, two_d: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Connected same-level zones (8-connected in a slice when `two_d`, else 26-connected): per zone (grey level,
    size, edge distance, slice of the zone)."""
    dist = edge_distance(levels > 0, two_d)
    if two_d:
        # Slices stacked into one 2D image with an empty row after each: zones cannot cross slices.
        nz, ny, nx = levels.shape
        flat = np.pad(levels, ((0, 0), (0, 1), (0, 0))).reshape(nz * (ny + 1), nx)
        lab = measure.label(flat, background=0, connectivity=2)
        lab = lab.reshape(nz, ny + 1, nx)[:, :ny]
    else:
        lab = measure.label(levels, background=0, connectivity=3)
    inside = lab > 0
    ids = lab[inside]
    n = int(ids.max()) if ids.size else 0
    empty = np.zeros(0, dtype=np.int64)
    if n == 0:
        return empty, empty, empty, empty
    size = np.bincount(ids, minlength=n + 1)[1:]
    level = np.zeros(n + 1, dtype=np.int64)
    level[ids] = levels[inside]
    slice_of = np.zeros(n + 1, dtype=np.int64)
    slice_of[ids] = _slice_index(levels.shape)[inside]
    mind = np.full(n + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(mind, ids, dist[inside].astype(np.int64))
    return level[1:], size, mind[1:], slice_of[1:]


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
    """s_i (sum |i - neighbourhood mean|) and n_i, voxels without ROI neighbours excluded: (slices, Ng) each with
    in-plane neighbourhoods when `two_d` (the rows are the 2D slices), else (1, Ng)."""
    total, count, _ = _neighbour_stats(levels, two_d)
    ok = (levels > 0) & (count > 0)
    code = levels[ok] - 1
    nz = levels.shape[0] if two_d else 1
    if two_d:
        code = code + _slice_index(levels.shape)[ok] * n_levels
    diff = np.abs(levels[ok] - total[ok] / count[ok])
    s = np.bincount(code, weights=diff, minlength=nz * n_levels).reshape(nz, n_levels)
    return s, np.bincount(code, minlength=nz * n_levels).reshape(nz, n_levels)


def dependence(levels: np.ndarray, two_d: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NGLDM elements per ROI voxel: (grey level, same-level ROI neighbours + 1, slice); coarseness 0,
    distance 1."""
    _, _, same = _neighbour_stats(levels, two_d)
    ok = levels > 0
    return levels[ok], same[ok] + 1, _slice_index(levels.shape)[ok]
