"""Masks drawn on another grid of the same frame of reference, placed on the PET grid (pure Python, no Django).

- :func:`sample_nearest`: a mask on any regular grid (SEG on CT, NIfTI at another resolution) -> PET voxels
  whose centre falls in a set source voxel (nearest neighbour in the source grid; centres outside the source
  grid are outside). Exact when the grids coincide.
- :func:`seg_frames`: a DICOM SEG read frame by frame and placed by ImagePositionPatient (never by frame or
  file order) into a regular volume of its own grid, per segment.
- :func:`rasterise_planes`: closed planar contours (RTSTRUCT) in PET index space. A PET slice on a contour
  plane takes the polygons (voxel centres, even-odd); a PET slice between two contour planes takes the
  shape-based interpolation of their signed distances to the contour edges
  (d = (1 - t) d_a + t d_b, inside where d <= 0: concentric circles give the circle of interpolated radius);
  PET slices beyond the first or last contour plane take nothing.
"""

from __future__ import annotations

import numpy as np

from quant.dicom.enhanced import group_item, shared_groups
from quant.dicom.geometry import Geometry
from quant.errors import VoiError

PLANE_TOL = 0.05  # fraction of the PET slice spacing: a contour plane "on" a PET slice


def sample_nearest(mask_zyx: np.ndarray, source_affine: np.ndarray, geometry: Geometry) -> np.ndarray:
    """PET [z, y, x] boolean mask sampled nearest-neighbour from ``mask_zyx`` (affine: (x, y, z) index -> LPS)."""
    transform = np.linalg.inv(source_affine) @ geometry.affine  # PET (x, y, z, 1) -> source (x, y, z, 1)
    nz, ny, nx = geometry.shape
    sz, sy, sx = mask_zyx.shape
    gy, gx = np.mgrid[0:ny, 0:nx]
    out = np.zeros(geometry.shape, dtype=bool)
    for k in range(nz):
        pts = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, k), np.ones(gx.size)])
        src = np.rint(transform @ pts)[:3].astype(np.int64)
        ok = (src[0] >= 0) & (src[0] < sx) & (src[1] >= 0) & (src[1] < sy) & (src[2] >= 0) & (src[2] < sz)
        values = np.zeros(gx.size, dtype=bool)
        values[ok] = mask_zyx[src[2][ok], src[1][ok], src[0][ok]]
        out[k] = values.reshape(ny, nx)
    return out


def seg_frames(ds) -> tuple[dict[int, np.ndarray], dict[int, str], np.ndarray]:
    """Per segment a [z, y, x] mask on the SEG's own grid, the segment labels and the grid's affine."""
    shared = shared_groups(ds)
    frames = ds.PerFrameFunctionalGroupsSequence
    first = frames[0]

    def item(group: str, frame):
        found = group_item(frame, shared, group)
        if found is None:
            raise VoiError(f"SEG has no {group}")
        return found

    iop = [float(v) for v in item("PlaneOrientationSequence", first).ImageOrientationPatient]
    measures = item("PixelMeasuresSequence", first)
    dy, dx = (float(v) for v in measures.PixelSpacing)
    row, col = np.array(iop[:3]), np.array(iop[3:])
    normal = np.cross(row, col)
    positions = np.array(
        [[float(v) for v in item("PlanePositionSequence", f).ImagePositionPatient] for f in frames]
    )
    along = positions @ normal
    levels = np.unique(np.round(along, 3))
    if len(levels) > 1:
        dz = float(np.min(np.diff(levels)))
    else:
        dz = float(getattr(measures, "SpacingBetweenSlices", None) or measures.SliceThickness or 1.0)
    k_index = np.rint((along - levels[0]) / dz).astype(int)
    if np.max(np.abs((along - levels[0]) / dz - k_index)) > 0.05:
        raise VoiError("SEG frames are not on a regular slice spacing")
    pixels = np.asarray(ds.pixel_array)
    if pixels.ndim == 2:
        pixels = pixels[None]
    fractional = str(ds.get("SegmentationType", "BINARY")).upper() == "FRACTIONAL"
    threshold = 0.5 * float(ds.get("MaximumFractionalValue", 255)) if fractional else 0.5
    rows, cols = pixels.shape[1:]
    masks: dict[int, np.ndarray] = {}
    for f, frame in enumerate(frames):
        number = int(item("SegmentIdentificationSequence", frame).ReferencedSegmentNumber)
        volume = masks.setdefault(number, np.zeros((int(k_index.max()) + 1, rows, cols), dtype=bool))
        volume[k_index[f]] |= pixels[f] > threshold
    base = positions[int(np.argmin(along))]
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2], affine[:3, 3] = row * dx, col * dy, normal * dz, base
    labels = {int(s.SegmentNumber): str(s.SegmentLabel) for s in ds.SegmentSequence}
    return masks, labels, affine


def _signed_distance(
    points: np.ndarray, polygons: list[np.ndarray], spacing: tuple[float, float]
) -> np.ndarray:
    """Signed distance (mm; negative inside by even-odd) from points (N, 2 index) to the polygons' edges."""
    scale = np.array(spacing)
    pts = points * scale
    best = np.full(len(points), np.inf)
    inside = _even_odd(points, polygons)
    for poly in polygons:
        a = poly * scale
        b = np.roll(a, -1, axis=0)
        for start in range(0, len(a), 64):
            sa, sb = a[start : start + 64], b[start : start + 64]
            ab = sb - sa
            length2 = np.maximum(np.sum(ab * ab, axis=1), 1e-12)
            t = np.clip(((pts[:, None, :] - sa[None]) * ab[None]).sum(axis=2) / length2, 0.0, 1.0)
            nearest = sa[None] + t[..., None] * ab[None]
            best = np.minimum(best, np.sqrt(np.min(np.sum((pts[:, None, :] - nearest) ** 2, axis=2), axis=1)))
    return np.where(inside, -best, best)


def _even_odd(points: np.ndarray, polygons: list[np.ndarray]) -> np.ndarray:
    """Points inside an odd number of the polygons (holes by even-odd); only points in a polygon's box tested."""
    from matplotlib.path import Path

    inside = np.zeros(len(points), dtype=bool)
    for poly in polygons:
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        near = np.flatnonzero(np.all((points >= lo) & (points <= hi), axis=1))
        if near.size:
            inside[near] ^= Path(poly, closed=True).contains_points(points[near])
    return inside


def rasterise_planes(
    planes: dict[float, list[np.ndarray]], geometry: Geometry, label: str
) -> tuple[np.ndarray, str]:
    """Mask and method from contour planes {PET z index (float): [polygons as (N, 2) PET (x, y) index]}."""
    nz, ny, nx = geometry.shape
    levels = sorted(planes)
    if levels[-1] < -PLANE_TOL or levels[0] > nz - 1 + PLANE_TOL:
        z = [geometry.slice_positions[0], geometry.slice_positions[-1]]
        span = [geometry.slice_positions[0] + (lv * geometry.spacing[2]) for lv in (levels[0], levels[-1])]
        raise VoiError(
            f"{label}: the contours lie outside the PET series (contour planes {span[0]:.1f}..{span[1]:.1f} mm "
            f"along the slice normal, PET slices {z[0]:.1f}..{z[1]:.1f} mm)"
        )
    gy, gx = np.mgrid[0:ny, 0:nx]
    centres = np.column_stack([gx.ravel(), gy.ravel()]).astype(float)
    mask = np.zeros(geometry.shape, dtype=bool)
    on_plane, interpolated = 0, 0
    spacing = (geometry.spacing[0], geometry.spacing[1])
    for k in range(nz):
        near = [lv for lv in levels if abs(lv - k) <= PLANE_TOL]
        if near:
            mask[k] = _even_odd(centres, planes[near[0]]).reshape(ny, nx)
            on_plane += 1
            continue
        below = [lv for lv in levels if lv < k]
        above = [lv for lv in levels if lv > k]
        if not below or not above:
            continue
        za, zb = below[-1], above[0]
        t = (k - za) / (zb - za)
        in_a, in_b = _even_odd(centres, planes[za]), _even_odd(centres, planes[zb])
        inside = in_a & in_b  # inside both: d_a, d_b <= 0; outside both: > 0; only the rest is computed
        todo = np.flatnonzero(in_a ^ in_b)
        if todo.size:
            pts = centres[todo]
            d = (1 - t) * _signed_distance(pts, planes[za], spacing) + t * _signed_distance(
                pts, planes[zb], spacing
            )
            inside[todo] = d <= 0
        mask[k] = inside.reshape(ny, nx)
        interpolated += 1
    method = (
        f"RTSTRUCT closed planar contours rasterised in 3-D by voxel centre (even-odd): {on_plane} PET slices on "
        f"a contour plane, {interpolated} between planes by shape-based interpolation of signed distances to "
        f"the contour edges; {len(levels)} contour planes"
    )
    return mask, method
