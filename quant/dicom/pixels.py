"""Pixel data: format checks, decoders, lossy-compression flags and stored values (single-frame files, and
enhanced multi-frame objects that ``quant.dicom.series`` reads as a stack of slices).

Every standard transfer syntax is decoded by pydicom's pixel backends with the decoders the project installs
(pylibjpeg + pylibjpeg-libjpeg for JPEG baseline/extended/lossless, pylibjpeg-openjpeg for JPEG 2000 and
HTJ2K, pylibjpeg-rle or pydicom for RLE, pyjpegls for JPEG-LS). Byte order is taken from each file's own
transfer syntax, so a series mixing little- and big-endian files decodes every slice correctly.
A lossy transfer syntax or LossyImageCompression "01" is reported (``lossy_reason``): the caller flags it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from pydicom.tag import Tag
from pydicom.uid import UID

from quant.errors import SeriesError

MAX_IN_PLANE = 1024
MAX_SLICES = 2000
IMPLICIT_LE = "1.2.840.10008.1.2"
TAG_PIXEL_DATA, TAG_FRAMES = Tag("PixelData"), Tag("NumberOfFrames")

PixelFormat = tuple[int, np.dtype]  # bits allocated, numpy dtype of the stored values
# Transfer syntaxes whose encoding may lose information (PS3.5 Section 8 / Annex A.4).
LOSSY_SYNTAXES = {
    "1.2.840.10008.1.2.4.50": "JPEG Baseline",
    "1.2.840.10008.1.2.4.51": "JPEG Extended",
    "1.2.840.10008.1.2.4.81": "JPEG-LS near-lossless",
    "1.2.840.10008.1.2.4.91": "JPEG 2000 (lossy allowed)",
    "1.2.840.10008.1.2.4.203": "HTJ2K (lossy allowed)",
}


def transfer_syntax(ds: Any) -> UID:
    return UID(ds.file_meta.get("TransferSyntaxUID", IMPLICIT_LE))


def check_decoder(ds: Any, path: str) -> None:
    """Refuse a compressed transfer syntax that no installed pydicom decoder can read."""
    ts = transfer_syntax(ds)
    if not ts.is_compressed:
        return
    try:
        from pydicom.pixels import get_decoder

        available = get_decoder(ts).is_available
    except (NotImplementedError, ValueError):
        available = False
    if not available:
        raise SeriesError(
            f"{os.path.basename(path)}: compressed transfer syntax {ts.name} and no decoder is installed"
        )


def lossy_reason(ds: Any) -> str | None:
    """Why the pixels may have lost information (lossy transfer syntax or LossyImageCompression 01), or None."""
    ts = str(transfer_syntax(ds))
    if ts in LOSSY_SYNTAXES:
        return f"transfer syntax {LOSSY_SYNTAXES[ts]} ({ts}) is lossy"
    flag = ds.get("LossyImageCompression")
    if flag is not None and str(flag).strip() == "01":
        methods = ds.get("LossyImageCompressionMethod")
        how = f" ({methods})" if methods else ""
        return f"LossyImageCompression 01: the pixels were lossy-compressed before{how}"
    return None


def pixel_format(ds: Any, path: str) -> PixelFormat:
    """(bits allocated, numpy dtype) shared by the series (checked identical per file)."""
    if ds.get("SamplesPerPixel", 1) != 1:
        raise SeriesError(f"{os.path.basename(path)}: colour images are not PET data")
    bits = int(ds.BitsAllocated)
    if bits not in (8, 16, 32):
        raise SeriesError(f"{os.path.basename(path)}: BitsAllocated {bits} not supported")
    signed = int(ds.PixelRepresentation) == 1
    dtype = np.dtype(f"{'i' if signed else 'u'}{bits // 8}")
    if not transfer_syntax(ds).is_little_endian:
        dtype = dtype.newbyteorder(">")
    return bits, dtype


def stored_pixels(ds: Any, path: str, rows: int, cols: int, fmt: PixelFormat, frames: int = 1) -> np.ndarray:
    """Stored pixel values, length-checked: a 2-D array of a single-frame file, or (frames, rows, cols) of an
    enhanced multi-frame object when its caller reads it as one (``frames`` > 1)."""
    elem = ds.get_item(TAG_PIXEL_DATA)
    if elem is None:
        raise SeriesError(f"{os.path.basename(path)}: no pixel data")
    found = int(ds.get("NumberOfFrames") or 1) if TAG_FRAMES in ds else 1
    if found != frames:
        raise SeriesError(f"{os.path.basename(path)}: multi-frame images ({found} frames) are not supported")
    shape = (rows, cols) if frames == 1 else (frames, rows, cols)
    if transfer_syntax(ds).is_compressed:
        try:
            arr = ds.pixel_array
        except Exception as exc:  # decoder errors come in many types
            raise SeriesError(
                f"{os.path.basename(path)}: compressed pixel data could not be decoded"
            ) from exc
        return arr.reshape(shape)
    bits, dtype = fmt
    big = not transfer_syntax(ds).is_little_endian
    dtype = dtype.newbyteorder(">" if big else "<")  # this file's own byte order
    expected = frames * rows * cols * bits // 8
    data = elem.value
    if data is None or len(data) < expected:
        raise SeriesError(
            f"{os.path.basename(path)}: truncated pixel data ({len(data or b'')} of {expected} bytes)"
        )
    return np.frombuffer(data, dtype=dtype, count=frames * rows * cols).reshape(shape)


def check_dimensions(rows: int, cols: int, n: int) -> None:
    """Refuse absurd image sizes before any volume is allocated."""
    if not (2 <= rows <= MAX_IN_PLANE and 2 <= cols <= MAX_IN_PLANE):
        raise SeriesError(f"absurd image size {rows}x{cols} (allowed 2..{MAX_IN_PLANE})")
    if not (1 <= n <= MAX_SLICES):
        raise SeriesError(f"absurd number of slices {n} (allowed 1..{MAX_SLICES})")


def decode_file(path: str) -> tuple[np.ndarray, str, str | None]:
    """(stored values of a single-frame file as native-endian 2-D array, transfer syntax UID, lossy reason)."""
    from quant.dicom.files import read_dicom

    ds = read_dicom(path)
    check_decoder(ds, path)
    rows, cols = int(ds.Rows), int(ds.Columns)
    arr = stored_pixels(ds, path, rows, cols, pixel_format(ds, path))
    return arr.astype(arr.dtype.newbyteorder("=")), str(transfer_syntax(ds)), lossy_reason(ds)
