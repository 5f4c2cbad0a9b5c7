"""Lesion volumetry from a binary mask: voxel-count volume, marching-cubes mesh volume, % change.

Arrays are indexed (z, y, x) and spacing is given in the same order, in millimetres.
No Django imports: pure computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from skimage.measure import marching_cubes

from quant.errors import VolumetryError

MM3_PER_ML = 1000.0

VOXEL_FORMULA = "V_voxel = N_voxels x (dz x dy x dx) [mm3]; mL = mm3 / 1000"
MESH_FORMULA = (
    "V_mesh = |sum_faces a . (b x c)| / 6 over the marching-cubes (level 0.5) triangle mesh "
    "of the zero-padded mask, vertices in mm (divergence theorem)"
)
CHANGE_FORMULA = "change % = 100 x (V_current - V_baseline) / V_baseline"


@dataclass(frozen=True)
class Mesh:
    """Triangle mesh of a mask surface; vertices in mm, (z, y, x) order."""

    vertices: np.ndarray
    faces: np.ndarray

    @property
    def volume(self) -> float:
        """Enclosed volume (mm3) by the divergence theorem."""
        a, b, c = (self.vertices[self.faces[:, k]] for k in range(3))
        return float(abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)

    @property
    def area(self) -> float:
        """Surface area (mm2)."""
        a, b, c = (self.vertices[self.faces[:, k]] for k in range(3))
        return float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2.0)


@dataclass(frozen=True)
class VolumeResult:
    """Lesion volume by voxel counting and by surface mesh."""

    voxel_count: int
    voxel_size_mm3: float
    voxel_volume_mm3: float
    mesh_volume_mm3: float
    mesh_area_mm2: float
    formula: str = f"{VOXEL_FORMULA}; {MESH_FORMULA}"

    @property
    def voxel_volume_ml(self) -> float:
        return self.voxel_volume_mm3 / MM3_PER_ML

    @property
    def mesh_volume_ml(self) -> float:
        return self.mesh_volume_mm3 / MM3_PER_ML


@dataclass(frozen=True)
class VolumeChange:
    """Percent change of a volume relative to baseline."""

    baseline: float
    current: float
    absolute_change: float
    percent_change: float
    formula: str = CHANGE_FORMULA


def check_spacing(spacing: Sequence[float], ndim: int = 3) -> tuple[float, ...]:
    """Return spacing as floats, rejecting wrong length or non-positive values."""
    values = tuple(float(s) for s in spacing)
    if len(values) != ndim:
        raise VolumetryError(f"spacing must have {ndim} values (z, y, x), got {len(values)}")
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise VolumetryError(f"spacing values must be positive and finite, got {values}")
    return values


def check_mask(mask: np.ndarray) -> np.ndarray:
    """Return mask as a 3D bool array, rejecting wrong dimensionality or an empty mask."""
    arr = np.asarray(mask)
    if arr.ndim != 3:
        raise VolumetryError(f"mask must be a 3D array, got {arr.ndim} dimensions")
    out = arr.astype(bool)
    if not out.any():
        raise VolumetryError("mask is empty: no voxel is inside the lesion")
    return out


def mask_mesh(mask: np.ndarray, spacing: Sequence[float]) -> Mesh:
    """Marching-cubes mesh (level 0.5) of the mask, padded so the surface is closed."""
    sp = check_spacing(spacing)
    m = check_mask(mask)
    lo = np.argwhere(m).min(axis=0)
    hi = np.argwhere(m).max(axis=0) + 1
    crop = m[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    padded = np.pad(crop.astype(np.float32), 1)
    verts, faces, _normals, _values = marching_cubes(padded, level=0.5, spacing=sp)
    offset = (lo - 1) * np.asarray(sp)
    return Mesh(vertices=verts + offset, faces=faces)


def lesion_volume(mask: np.ndarray, spacing: Sequence[float]) -> VolumeResult:
    """Volume of a lesion mask by voxel counting and by its marching-cubes mesh."""
    sp = check_spacing(spacing)
    m = check_mask(mask)
    count = int(m.sum())
    voxel_size = float(np.prod(sp))
    mesh = mask_mesh(m, sp)
    return VolumeResult(
        voxel_count=count,
        voxel_size_mm3=voxel_size,
        voxel_volume_mm3=count * voxel_size,
        mesh_volume_mm3=mesh.volume,
        mesh_area_mm2=mesh.area,
    )


def percent_change(baseline: float, current: float) -> VolumeChange:
    """Percent change from baseline; baseline must be positive."""
    b, c = float(baseline), float(current)
    if not (np.isfinite(b) and np.isfinite(c)):
        raise VolumetryError("volumes must be finite numbers")
    if b <= 0:
        raise VolumetryError(f"baseline volume must be positive to compute % change, got {b}")
    if c < 0:
        raise VolumetryError(f"current volume cannot be negative, got {c}")
    return VolumeChange(baseline=b, current=c, absolute_change=c - b, percent_change=100.0 * (c - b) / b)
