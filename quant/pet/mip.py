"""Coronal maximum-intensity projection as PNG bytes (numpy + zlib, no Django, no PIL).

``coronal_mip_png(suv, spacing, suv_window=(0, 10), upscale=1)`` projects the SUV volume [z, y, x] along y
(anterior-posterior for axial acquisitions), puts the head at the top (+z is superior in DICOM
patient coordinates, slices are stored in increasing z), resamples rows so that pixels are square
in millimetres (aspect from z vs x spacing), enlarges by a whole factor (nearest neighbour, so voxels stay
sharp) and windows SUV linearly to 8-bit grey, inverted (hot = dark), as PET MIPs are usually read.
Seen from the front: the patient's right (low x, DICOM +x is the patient's left) on the viewer's left.
``mip_box`` places a volume region (voxel index ranges) on that picture, for overlays drawn by the page.
"""

from __future__ import annotations

import numpy as np

from quant.png import encode_png

MIN_LONG_SIDE_PX = 480  # a MIP smaller than this is enlarged by a whole factor


def mip_rows(n_slices: int, spacing: tuple[float, float, float]) -> int:
    """Rows of the MIP before enlargement: the slices resampled to square pixels of the x spacing."""
    sx, _sy, sz = spacing
    return max(1, int(round(n_slices * sz / sx)))


def mip_upscale(shape_zyx: tuple[int, int, int], spacing: tuple[float, float, float]) -> int:
    """Whole enlargement factor that brings the MIP's longer side to at least MIN_LONG_SIDE_PX."""
    long_side = max(mip_rows(shape_zyx[0], spacing), shape_zyx[2])
    return max(1, -(-MIN_LONG_SIDE_PX // long_side))


def coronal_mip(suv: np.ndarray, spacing: tuple[float, float, float], upscale: int = 1) -> np.ndarray:
    """MIP [rows = z from superior to inferior, cols = x] resampled to square pixels of x spacing, each pixel
    repeated `upscale` times along both axes."""
    projection = np.max(suv, axis=1)[::-1]  # [z, x], head at the top
    rows = mip_rows(projection.shape[0], spacing)
    index = np.minimum((np.arange(rows) * projection.shape[0] / rows).astype(int), projection.shape[0] - 1)
    return np.repeat(np.repeat(projection[index], upscale, axis=0), upscale, axis=1)


def mip_box(
    x_range: tuple[float, float],
    z_range: tuple[float, float],
    shape_zyx: tuple[int, int, int],
    spacing: tuple[float, float, float],
    upscale: int = 1,
) -> tuple[float, float, float, float]:
    """(left, top, width, height) in MIP pixels of the voxels whose x and z indices span the given ranges
    (inclusive voxel indices, fractional allowed): the region's outline on the picture."""
    nz, _ny, _nx = shape_zyx
    row_scale = mip_rows(nz, spacing) / nz * upscale
    # voxel i covers [i, i + 1) in picture units before scaling; slices are drawn head (high z) first
    left = min(x_range) * upscale
    right = (max(x_range) + 1) * upscale
    top = (nz - 1 - max(z_range)) * row_scale
    bottom = (nz - min(z_range)) * row_scale
    return left, top, right - left, bottom - top


def window_to_uint8(image: np.ndarray, low: float, high: float, invert: bool = True) -> np.ndarray:
    if high <= low:
        raise ValueError("SUV window must have high > low")
    scaled = np.clip((image - low) / (high - low), 0.0, 1.0)
    if invert:
        scaled = 1.0 - scaled
    return np.round(scaled * 255).astype(np.uint8)


def coronal_mip_png(
    suv: np.ndarray,
    spacing: tuple[float, float, float],
    suv_window: tuple[float, float] = (0.0, 10.0),
    upscale: int = 1,
) -> bytes:
    """Coronal MIP of an SUV volume as PNG bytes (see module docstring)."""
    return encode_png(window_to_uint8(coronal_mip(suv, spacing, upscale), *suv_window))
