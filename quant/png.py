"""Minimal PNG encoder (zlib only, no imaging library): 8-bit greyscale (H, W) or RGB (H, W, 3) arrays."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image: (H, W) greyscale or (H, W, 3) RGB, rows top to bottom."""
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    if pixels.ndim == 2:
        colour_type = 0
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        colour_type = 2
    else:
        raise ValueError(f"a PNG needs an (H, W) or (H, W, 3) array, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )
