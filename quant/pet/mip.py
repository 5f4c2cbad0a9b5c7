"""Coronal maximum-intensity projection as PNG bytes (numpy + zlib, no Django, no PIL).

``coronal_mip_png(suv, spacing, suv_window=(0, 10))`` projects the SUV volume [z, y, x] along y
(anterior-posterior for axial acquisitions), puts the head at the top (+z is superior in DICOM
patient coordinates, slices are stored in increasing z), resamples rows so that pixels are square
in millimetres (aspect from z vs x spacing) and windows SUV linearly to 8-bit grey, inverted
(hot = dark), as PET MIPs are usually read.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np


def coronal_mip(suv: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """MIP [rows = z from superior to inferior, cols = x] resampled to square pixels of x spacing."""
    projection = np.max(suv, axis=1)[::-1]  # [z, x], head at the top
    sx, _sy, sz = spacing
    rows = max(1, int(round(projection.shape[0] * sz / sx)))
    index = np.minimum((np.arange(rows) * projection.shape[0] / rows).astype(int), projection.shape[0] - 1)
    return projection[index]


def window_to_uint8(image: np.ndarray, low: float, high: float, invert: bool = True) -> np.ndarray:
    if high <= low:
        raise ValueError("SUV window must have high > low")
    scaled = np.clip((image - low) / (high - low), 0.0, 1.0)
    if invert:
        scaled = 1.0 - scaled
    return np.round(scaled * 255).astype(np.uint8)


def png_bytes(grey: np.ndarray) -> bytes:
    """Minimal 8-bit greyscale PNG encoder."""
    height, width = grey.shape
    raw = b"".join(b"\x00" + grey[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def coronal_mip_png(
    suv: np.ndarray, spacing: tuple[float, float, float], suv_window: tuple[float, float] = (0.0, 10.0)
) -> bytes:
    """Coronal MIP of an SUV volume as PNG bytes (see module docstring)."""
    return png_bytes(window_to_uint8(coronal_mip(suv, spacing), *suv_window))
