"""VOIs on an MR series grid: spheres in patient coordinates, NIfTI masks and DICOM SEG segments.

Masks are boolean arrays (x, y, z) on the grid of an :class:`~quant.mri.dicom_series.MrSeries`
(``affine`` maps voxel index (x, y, z) to DICOM patient LPS mm).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from quant.errors import MriInputError
from quant.mri.io import load_nifti

BoolArray = NDArray[np.bool_]
SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


@dataclass(frozen=True)
class Sphere:
    name: str
    centre_mm: tuple[float, float, float]
    radius_mm: float


def parse_sphere(text: str, named: bool = True) -> Sphere:
    """'NAME:X,Y,Z,R' (or 'X,Y,Z,R' when not named) with X, Y, Z patient mm and R mm > 0."""
    name = "aif"
    body = text
    if named:
        if ":" not in text:
            raise MriInputError(f"sphere {text!r} must be NAME:X,Y,Z,R")
        name, body = text.split(":", 1)
        if not _NAME.match(name):
            raise MriInputError(f"VOI name {name!r} must be 1-40 letters, digits, '_', '-' or '.'")
    try:
        values = [float(v) for v in body.split(",")]
    except ValueError as exc:
        raise MriInputError(f"sphere {text!r}: X,Y,Z,R must be numbers") from exc
    if len(values) != 4 or not all(np.isfinite(values)):
        raise MriInputError(f"sphere {text!r} needs four numbers X,Y,Z,R")
    if values[3] <= 0:
        raise MriInputError(f"sphere {text!r}: radius must be positive")
    return Sphere(name, (values[0], values[1], values[2]), values[3])


def voxel_centres_mm(shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    """(x, y, z, 3) patient coordinates of every voxel centre."""
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1).astype(float)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def sphere_mask(sphere: Sphere, shape: tuple[int, int, int], affine: np.ndarray) -> BoolArray:
    """Voxels whose centre lies within the sphere; refuses a sphere that holds none."""
    centres = voxel_centres_mm(shape, affine)
    mask = np.sum((centres - np.array(sphere.centre_mm)) ** 2, axis=-1) <= sphere.radius_mm**2 + 1e-9
    if not mask.any():
        raise MriInputError(f"sphere {sphere.name!r} holds no voxel centre of the series")
    return mask


def nifti_mask(name: str, data: bytes, shape: tuple[int, int, int]) -> BoolArray:
    """A NIfTI mask on the series grid (same x, y, z size); non-zero voxels are inside."""
    arr, _zooms, _affine = load_nifti(data, what=f"mask {name!r}")
    arr = np.squeeze(np.asarray(arr))
    if arr.shape != tuple(shape):
        raise MriInputError(f"mask {name!r} has shape {arr.shape}, the series grid is {tuple(shape)}")
    mask = np.asarray(arr) != 0
    if not mask.any():
        raise MriInputError(f"mask {name!r} is empty")
    return mask


def parse_named_file(text: str) -> tuple[str, str]:
    if ":" not in text:
        raise MriInputError(f"mask {text!r} must be NAME:FILE.nii.gz")
    name, path = text.split(":", 1)
    if not _NAME.match(name):
        raise MriInputError(f"VOI name {name!r} must be 1-40 letters, digits, '_', '-' or '.'")
    if not os.path.isfile(path):
        raise MriInputError(f"mask file {path} not found")
    return name, path


def seg_masks(path: str, shape: tuple[int, int, int], affine: np.ndarray) -> dict[str, BoolArray]:
    """Each segment of a DICOM SEG as a mask on the series grid (frames placed by ImagePositionPatient)."""
    import pydicom

    name = os.path.basename(path)
    try:
        ds = pydicom.dcmread(path)
        if str(ds.get("SOPClassUID", "")) != SEG_STORAGE:
            raise MriInputError(f"{name} is not a DICOM SEG")
        pixels = np.asarray(ds.pixel_array).reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))
        shared = ds.get("SharedFunctionalGroupsSequence")
        shared_item = shared[0] if shared else None
        labels = {
            int(s.SegmentNumber): _safe_label(str(s.SegmentLabel), int(s.SegmentNumber))
            for s in ds.SegmentSequence
        }
        frames = list(ds.PerFrameFunctionalGroupsSequence)
    except MriInputError:
        raise
    except Exception as exc:  # pydicom raises many types for a damaged or non-SEG file
        raise MriInputError(f"{name} is not a readable DICOM SEG ({type(exc).__name__})") from exc
    inv = np.linalg.inv(affine)
    out: dict[str, BoolArray] = {}
    for i, frame in enumerate(frames):
        try:
            ipp = np.array([float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient])
            ident = frame.get("SegmentIdentificationSequence") or shared_item.SegmentIdentificationSequence
            number = int(ident[0].ReferencedSegmentNumber)
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise MriInputError(f"{name}: frame {i + 1} lacks its position or segment number") from exc
        ijk = inv[:3, :3] @ ipp + inv[:3, 3]
        k = int(round(ijk[2]))
        if not 0 <= k < shape[2] or np.max(np.abs(ijk[:2])) > 0.05 or abs(ijk[2] - k) > 0.05:
            raise MriInputError(f"{name}: frame {i + 1} does not lie on a slice of the series grid")
        plane = pixels[i].T != 0
        if plane.shape != shape[:2]:
            raise MriInputError(
                f"{name}: frames are {pixels.shape[2]}x{pixels.shape[1]}, the series is {shape[0]}x{shape[1]}"
            )
        label = labels.get(number, f"segment{number}")
        out.setdefault(label, np.zeros(shape, dtype=bool))[:, :, k] |= plane
    if not out:
        raise MriInputError(f"{name}: the SEG holds no frame")
    return out


def _safe_label(label: str, number: int) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", label)[:40] or f"segment{number}"
