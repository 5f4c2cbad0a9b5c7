"""Grid of a stack of slices: orientation, in-plane and slice spacing, slice order and the voxel-to-patient affine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from quant.dicom.values import float_value
from quant.errors import SeriesError

MAX_SPACING_MM = 50.0
POSITION_TOL = 0.05  # fraction of slice spacing
DIRECTION_TOL = 1e-4
SPACING_TOL = 1e-3  # mm


@dataclass
class Geometry:
    """Grid of the volume: ``affine @ [x, y, z, 1]`` gives DICOM patient (LPS) mm for volume[z, y, x]."""

    origin: np.ndarray
    row_direction: np.ndarray
    column_direction: np.ndarray
    normal: np.ndarray
    spacing: tuple[float, float, float]  # x (along a row), y (down a column), z (between slices)
    shape: tuple[int, int, int]  # z, y, x
    affine: np.ndarray
    frame_of_reference_uid: str
    sop_instance_uids: tuple[str, ...]
    slice_positions: tuple[float, ...]

    @property
    def voxel_volume_ml(self) -> float:
        sx, sy, sz = self.spacing
        return sx * sy * sz / 1000.0

    def index_to_patient(self, ijk: np.ndarray) -> np.ndarray:
        """(N, 3) voxel indices as (x, y, z) -> (N, 3) patient mm."""
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]

    def patient_to_index(self, xyz: np.ndarray) -> np.ndarray:
        """(N, 3) patient mm -> (N, 3) fractional voxel indices (x, y, z)."""
        inv = np.linalg.inv(self.affine)
        return np.asarray(xyz, dtype=float) @ inv[:3, :3].T + inv[:3, 3]


def orientation(first: Any) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Row and column direction cosines and (dx, dy) pixel spacing of the first file, checked."""
    iop = first.get("ImageOrientationPatient")
    spacing = first.get("PixelSpacing")
    if iop is None or len(iop) != 6:
        raise SeriesError("ImageOrientationPatient missing or malformed")
    if spacing is None or len(spacing) != 2:
        raise SeriesError("PixelSpacing missing or malformed")
    row = np.array([float(v) for v in iop[:3]])
    col = np.array([float(v) for v in iop[3:]])
    if abs(np.linalg.norm(row) - 1) > 1e-3 or abs(np.linalg.norm(col) - 1) > 1e-3 or abs(row @ col) > 1e-3:
        raise SeriesError("ImageOrientationPatient is not two orthonormal directions")
    dy, dx = float(spacing[0]), float(spacing[1])  # row spacing (between rows), column spacing
    if not (0 < dx <= MAX_SPACING_MM and 0 < dy <= MAX_SPACING_MM):
        raise SeriesError(f"absurd PixelSpacing {dy} x {dx} mm")
    return row, col, (dx, dy)


def slice_order(first: Any, positions_mm: list[np.ndarray]) -> tuple[np.ndarray, dict]:
    """Order of the slices along the normal and the grid (without shape, UIDs or frame of reference).

    Refuses duplicated positions, gaps, uneven spacing and in-plane shifts.
    """
    row, col, (dx, dy) = orientation(first)
    normal = np.cross(row, col)
    along = np.array([p @ normal for p in positions_mm])
    order = np.argsort(along, kind="stable")
    along = along[order]
    dz = slice_spacing(along, first)
    origin = positions_mm[order[0]]
    for k, idx in enumerate(order):
        offset = positions_mm[idx] - origin
        in_plane = np.array([offset @ row, offset @ col])
        if np.max(np.abs(in_plane)) > POSITION_TOL * max(dx, dy) + 1e-3:
            raise SeriesError(f"slice {k} is shifted in-plane by {in_plane.round(3).tolist()} mm")
    affine = np.eye(4)
    affine[:3, 0] = row * dx
    affine[:3, 1] = col * dy
    affine[:3, 2] = normal * dz
    affine[:3, 3] = origin
    grid = {
        "origin": origin,
        "row_direction": row,
        "column_direction": col,
        "normal": normal,
        "spacing": (dx, dy, dz),
        "affine": affine,
        "slice_positions": tuple(float(p) for p in along),
    }
    return order, grid


def slice_spacing(positions: np.ndarray, first: Any) -> float:
    """Spacing between sorted slice positions (mm), refusing duplicates, gaps and uneven steps."""
    if len(positions) == 1:
        thickness = float_value(first.get("SliceThickness")) or float_value(first.get("SpacingBetweenSlices"))
        if not thickness:
            raise SeriesError("single slice without SliceThickness: slice spacing unknown")
        return thickness
    diffs = np.diff(positions)
    if np.any(diffs < 1e-3):
        k = int(np.argmin(diffs))
        raise SeriesError(f"duplicate slice position {positions[k]:.3f} mm along the slice normal")
    step = float(np.median(diffs))
    if step > MAX_SPACING_MM:
        raise SeriesError(f"absurd slice spacing {step:.1f} mm")
    bad = np.abs(diffs - step) > POSITION_TOL * step
    if np.any(bad):
        k = int(np.argmax(bad))
        kind = "gap" if diffs[k] > step else "inconsistent spacing"
        raise SeriesError(
            f"{kind} between slices at {positions[k]:.2f} and {positions[k + 1]:.2f} mm "
            f"(step {diffs[k]:.2f} mm, expected {step:.2f})"
        )
    return float((positions[-1] - positions[0]) / (len(positions) - 1))


def permute_in_place(volume: np.ndarray, order: np.ndarray) -> None:
    """volume[k] <- volume[order[k]] for all k, with one slice of scratch memory."""
    done = np.zeros(len(order), dtype=bool)
    scratch = np.empty(volume.shape[1:], dtype=volume.dtype)
    for start in range(len(order)):
        if done[start] or order[start] == start:
            done[start] = True
            continue
        scratch[...] = volume[start]
        k = start
        while True:
            done[k] = True
            src = int(order[k])
            if src == start:
                volume[k] = scratch
                break
            volume[k] = volume[src]
            k = src
