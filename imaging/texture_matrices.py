"""Texture matrix construction (IBSI 1): GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM.

Input is a discretised grey-level array `levels` indexed (z, y, x) with values 1..n_levels inside the
ROI and 0 outside. 2D matrices are built per axial slice (axis 0). Matrices carry per-slice and
per-direction axes so that every IBSI aggregation (2D, 2.5D, 3D; averaged or merged) is a sum over
some of these axes.
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
    *(
        d
        for d in product((-1, 0, 1), repeat=3)
        if d[0] == 1  # one of each +/- pair crossing slices
    ),
)
N_INPLANE = 4
NEIGHBOURS_3D = tuple(d for d in product((-1, 0, 1), repeat=3) if d != (0, 0, 0))
NEIGHBOURS_2D = tuple(d for d in NEIGHBOURS_3D if d[0] == 0)


@dataclass(frozen=True)
class SliceMatrices:
    """Counts with shape (n_slices, n_directions, n_levels, n_cols) plus voxel counts per slice."""

    counts: np.ndarray
    slice_voxels: np.ndarray


def shifted(a: np.ndarray, offset: tuple[int, ...], fill: int = 0) -> np.ndarray:
    """Array b with b[p] = a[p + offset], `fill` where p + offset is outside the array."""
    out = np.full_like(a, fill)
    if any(abs(o) >= n for o, n in zip(offset, a.shape)):
        return out
    src = tuple(slice(max(o, 0), n + min(o, 0)) for o, n in zip(offset, a.shape))
    dst = tuple(slice(max(-o, 0), n + min(-o, 0)) for o, n in zip(offset, a.shape))
    out[dst] = a[src]
    return out


def _slice_voxels(levels: np.ndarray) -> np.ndarray:
    return (levels > 0).reshape(levels.shape[0], -1).sum(axis=1)


def _count(z: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Histogram of (slice, row, col) triples into an array of `shape`; rows and cols are 0-based."""
    flat = (z * shape[1] + rows) * shape[2] + cols
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape)


def glcm(levels: np.ndarray, n_levels: int) -> SliceMatrices:
    """Symmetric co-occurrence counts for the 13 directions, split by slice of the first voxel."""
    nz = levels.shape[0]
    zidx = np.broadcast_to(np.arange(nz)[:, None, None], levels.shape)
    out = np.zeros((nz, len(DIRECTIONS_3D), n_levels, n_levels), dtype=np.int64)
    for k, d in enumerate(DIRECTIONS_3D):
        nb = shifted(levels, d)
        ok = (levels > 0) & (nb > 0)
        m = _count(zidx[ok], levels[ok] - 1, nb[ok] - 1, (nz, n_levels, n_levels))
        out[:, k] = m + m.transpose(0, 2, 1)
    return SliceMatrices(out, _slice_voxels(levels))


def glrlm(levels: np.ndarray, n_levels: int) -> SliceMatrices:
    """Run-length counts (level, run length) for the 13 directions, split by slice of the run start."""
    nz = levels.shape[0]
    max_run = max(levels.shape)
    zidx = np.broadcast_to(np.arange(nz)[:, None, None], levels.shape)
    out = np.zeros((nz, len(DIRECTIONS_3D), n_levels, max_run), dtype=np.int64)
    for k, d in enumerate(DIRECTIONS_3D):
        start = (levels > 0) & (shifted(levels, tuple(-o for o in d)) != levels)
        length = start.astype(np.int64)
        cont = start.copy()
        step = 1
        while cont.any():
            cont &= shifted(levels, tuple(step * o for o in d)) == levels
            length += cont
            step += 1
        out[:, k] = _count(zidx[start], levels[start] - 1, length[start] - 1, (nz, n_levels, max_run))
    return SliceMatrices(out, _slice_voxels(levels))


def _zone_labels(levels: np.ndarray, two_d: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label connected same-level zones; return (labels, zone level, zone size)."""
    structure = np.ones((3, 3, 3), dtype=bool)
    if two_d:
        structure[0] = structure[2] = False
    labels = np.zeros(levels.shape, dtype=np.int64)
    zone_level = [np.zeros(0, dtype=np.int64)]
    n_total = 0
    for g in np.unique(levels[levels > 0]):
        lab, n = ndimage.label(levels == g, structure=structure)
        labels[lab > 0] = lab[lab > 0] + n_total
        zone_level.append(np.full(n, g, dtype=np.int64))
        n_total += n
    sizes = np.bincount(labels.ravel(), minlength=n_total + 1)[1:]
    return labels, np.concatenate(zone_level), sizes


def _zone_slices(labels: np.ndarray, n_zones: int) -> np.ndarray:
    """Slice index of each zone (the lowest slice it touches)."""
    zidx = np.broadcast_to(np.arange(labels.shape[0])[:, None, None], labels.shape)
    inside = labels > 0
    first = np.full(n_zones + 1, labels.shape[0], dtype=np.int64)
    np.minimum.at(first, labels[inside], zidx[inside])
    return first[1:]


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


def zone_matrices(levels: np.ndarray, n_levels: int, two_d: bool) -> tuple[SliceMatrices, SliceMatrices]:
    """Size-zone (GLSZM) and distance-zone (GLDZM) counts per slice; 2D zones stay in one slice."""
    nz = levels.shape[0]
    labels, zone_level, sizes = _zone_labels(levels, two_d)
    n_zones = len(sizes)
    zslice = _zone_slices(labels, n_zones) if two_d else np.zeros(n_zones, dtype=np.int64)
    dist = edge_distance(levels > 0, two_d)
    zone_dist = np.full(n_zones + 1, np.iinfo(np.int64).max, dtype=np.int64)
    inside = labels > 0
    np.minimum.at(zone_dist, labels[inside], dist[inside].astype(np.int64))
    zone_dist = zone_dist[1:]
    max_size = int(sizes.max()) if n_zones else 1
    max_dist = int(zone_dist.max()) if n_zones else 1
    szm = _count(zslice, zone_level - 1, sizes - 1, (nz, n_levels, max_size))
    dzm = _count(zslice, zone_level - 1, zone_dist - 1, (nz, n_levels, max_dist))
    nv = _slice_voxels(levels)
    return SliceMatrices(szm[:, None], nv), SliceMatrices(dzm[:, None], nv)


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
    """Per slice: s_i (sum |i - neighbourhood mean|) and n_i; voxels without ROI neighbours excluded."""
    nz = levels.shape[0]
    total, count, _ = _neighbour_stats(levels, two_d)
    ok = (levels > 0) & (count > 0)
    zidx = np.broadcast_to(np.arange(nz)[:, None, None], levels.shape)[ok]
    if not two_d:
        zidx = np.zeros_like(zidx)
    flat = zidx * n_levels + levels[ok] - 1
    diff = np.abs(levels[ok] - total[ok] / count[ok])
    s = np.bincount(flat, weights=diff, minlength=nz * n_levels).reshape(nz, n_levels)
    n = np.bincount(flat, minlength=nz * n_levels).reshape(nz, n_levels)
    return s, n


def ngldm(levels: np.ndarray, n_levels: int, two_d: bool) -> SliceMatrices:
    """Dependence counts (level, number of same-level ROI neighbours + 1), coarseness 0, distance 1."""
    nz = levels.shape[0]
    _, _, same = _neighbour_stats(levels, two_d)
    ok = levels > 0
    n_cols = (8 if two_d else 26) + 1
    zidx = np.broadcast_to(np.arange(nz)[:, None, None], levels.shape)[ok]
    if not two_d:
        zidx = np.zeros_like(zidx)
    m = _count(zidx, levels[ok] - 1, same[ok], (nz, n_levels, n_cols))
    return SliceMatrices(m[:, None], _slice_voxels(levels))
