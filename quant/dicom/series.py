"""Read and validate one PET (or MR) series from DICOM files (pure Python, no Django).

``read_series(paths, modality="PT")`` returns a :class:`PetSeries` (float32 volume [z, y, x] in
stored units after per-slice RescaleSlope/Intercept, the geometry and an SUV header summary) or
raises :class:`SeriesError` with a one-line message. Files are never read with ``force``; every
check listed in the module functions below runs before anything is returned.

Memory: the float32 volume is allocated once; each file's pixel bytes are converted into its slot
and released, then slices are put in z order in place (peak about volume + one file).
"""

from __future__ import annotations

import math
import os
import struct
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.tag import Tag
from pydicom.uid import UID

from quant.errors import MixedSeriesError, SeriesError
from quant.pet.suv import SUPPORTED_DECAY, SUPPORTED_UNITS, SuvHeader

MAX_IN_PLANE = 1024
MAX_SLICES = 2000
MAX_SPACING_MM = 50.0
POSITION_TOL = 0.05  # fraction of slice spacing
DIRECTION_TOL = 1e-4
SPACING_TOL = 1e-3  # mm

SERIES_LEVEL = (
    "Modality",
    "StudyInstanceUID",
    "FrameOfReferenceUID",
    "Units",
    "DecayCorrection",
    "CorrectedImage",
    "SeriesDate",
    "SeriesTime",
    "PatientWeight",
    "PatientSize",
    "PatientSex",
    "SUVType",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "SamplesPerPixel",
)
RADIOPHARM_LEVEL = (
    "RadionuclideTotalDose",
    "RadionuclideHalfLife",
    "RadiopharmaceuticalStartTime",
    "RadiopharmaceuticalStartDateTime",
)
PHILIPS_CREATOR = "Philips PET Private Group"
GE_CREATOR = "GEMS_PETD_01"


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


@dataclass
class PetSeries:
    """A validated series: volume in stored units, geometry and the SUV header summary."""

    volume: np.ndarray
    geometry: Geometry
    header: SuvHeader
    series_instance_uid: str
    series_description: str
    modality: str
    transfer_syntax: str
    rescale_slopes: tuple[float, ...]
    rescale_intercepts: tuple[float, ...]
    files: tuple[str, ...]
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Slice:
    path: str
    ipp: np.ndarray
    sop_uid: str
    slope: float
    intercept: float
    acq_date: str | None
    acq_time: str | None
    frt: float | None
    afd: float | None


def _fail(message: str) -> SeriesError:
    return SeriesError(message)


def list_dicom_files(directory: str) -> list[str]:
    """All regular files under a directory (sorted); DICOM-ness is checked by the reader."""
    if not os.path.isdir(directory):
        raise SeriesError(f"{directory}: not a directory")
    out = []
    for root, _dirs, files in os.walk(directory):
        out.extend(os.path.join(root, f) for f in files if not f.startswith("."))
    if not out:
        raise SeriesError(f"{directory}: no files")
    return sorted(out)


def _read(path: str):
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
            if len(head) < 132 or head[128:132] != b"DICM":
                raise SeriesError(f"{os.path.basename(path)}: not a DICOM file (no preamble/DICM prefix)")
            handle.seek(0)
            return pydicom.dcmread(handle)
    except SeriesError:
        raise
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise SeriesError(f"{os.path.basename(path)}: unreadable DICOM ({type(exc).__name__})") from exc


def _text(ds, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _float(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _raw_value(ds, keyword: str):
    """Series-level comparison key: the value as a tuple of stripped strings (None if absent)."""
    value = ds.get(keyword)
    if value is None:
        return None
    if isinstance(value, pydicom.multival.MultiValue | list | tuple):
        return tuple(str(v).strip() for v in value)
    return (str(value).strip(),)


def _radiopharm(ds) -> dict:
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        return {}
    item = seq[0]
    out = {k: item.get(k) for k in RADIOPHARM_LEVEL}
    codes = item.get("RadionuclideCodeSequence")
    if codes:
        out["code"] = str(codes[0].get("CodeValue", "")).strip() or None
        out["meaning"] = str(codes[0].get("CodeMeaning", "")).strip() or None
    return out


def _private(ds, group: int, creator: str, offset: int):
    """Private element (group, creator block, offset); falls back to block 0x10 without a creator."""
    try:
        block = ds.private_block(group, creator)
        if offset in block:
            return block[offset].value
    except KeyError:
        pass
    tag = Tag(group, 0x1000 | offset)
    if tag in ds and Tag(group, 0x0010) not in ds:
        return ds[tag].value
    return None


def _compressed_check(ds, path: str) -> None:
    ts = UID(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
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


def _pixel_format(ds, path: str) -> tuple[int, np.dtype]:
    """(bits allocated, numpy dtype) shared by the series (checked identical per file)."""
    if ds.get("SamplesPerPixel", 1) != 1:
        raise SeriesError(f"{os.path.basename(path)}: colour images are not PET data")
    bits = int(ds.BitsAllocated)
    ts = UID(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if bits not in (8, 16, 32):
        raise SeriesError(f"{os.path.basename(path)}: BitsAllocated {bits} not supported")
    signed = int(ds.PixelRepresentation) == 1
    dtype = np.dtype(f"{'i' if signed else 'u'}{bits // 8}")
    if not ts.is_little_endian:
        dtype = dtype.newbyteorder(">")
    return bits, dtype


def _pixels(ds, path: str, rows: int, cols: int, pixel_format: tuple) -> np.ndarray:
    """Stored pixel values of one single-frame file as a 2-D array, length-checked."""
    elem = ds.get_item(TAG_PIXEL_DATA)
    if elem is None:
        raise SeriesError(f"{os.path.basename(path)}: no pixel data")
    if TAG_FRAMES in ds:
        frames = int(ds.get("NumberOfFrames") or 1)
        if frames != 1:
            raise SeriesError(
                f"{os.path.basename(path)}: multi-frame images ({frames} frames) are not supported"
            )
    ts = UID(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if ts.is_compressed:
        try:
            arr = ds.pixel_array
        except Exception as exc:  # decoder errors come in many types
            raise SeriesError(
                f"{os.path.basename(path)}: compressed pixel data could not be decoded"
            ) from exc
        return arr.reshape(rows, cols)
    bits, dtype = pixel_format
    expected = rows * cols * bits // 8
    data = elem.value
    if data is None or len(data) < expected:
        raise SeriesError(
            f"{os.path.basename(path)}: truncated pixel data ({len(data or b'')} of {expected} bytes)"
        )
    return np.frombuffer(data, dtype=dtype, count=rows * cols).reshape(rows, cols)


TAG_PIXEL_DATA, TAG_FRAMES = Tag("PixelData"), Tag("NumberOfFrames")


def _check_dimensions(rows: int, cols: int, n: int) -> None:
    if not (2 <= rows <= MAX_IN_PLANE and 2 <= cols <= MAX_IN_PLANE):
        raise SeriesError(f"absurd image size {rows}x{cols} (allowed 2..{MAX_IN_PLANE})")
    if not (1 <= n <= MAX_SLICES):
        raise SeriesError(f"absurd number of slices {n} (allowed 1..{MAX_SLICES})")


def scan_series(paths: list[str]) -> list[dict]:
    """Headers only: the series found among files (uid, modality, description, count) for a chooser UI."""
    found: Counter = Counter()
    for path in paths:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, EOFError, OSError, ValueError):
            continue
        key = (str(ds.get("SeriesInstanceUID", "")), _text(ds, "Modality"), _text(ds, "SeriesDescription"))
        found[key] += 1
    return [
        {"series_instance_uid": uid, "modality": mod, "description": desc, "instances": count}
        for (uid, mod, desc), count in found.items()
    ]


def read_series(paths: list[str] | str, modality: str = "PT") -> PetSeries:
    """Read, validate and stack one series; see the module docstring."""
    if isinstance(paths, str):
        paths = list_dicom_files(paths)
    paths = list(paths)
    if not paths:
        raise SeriesError("no files given")
    seen: list[tuple[str, str, str]] = []
    try:
        return _read_validated(paths, modality, seen)
    except SeriesError:
        _raise_if_mixed(paths, seen)
        raise


def _raise_if_mixed(paths: list[str], seen: list[tuple[str, str, str]]) -> None:
    """Report a mixed folder (with what it holds) in preference to any per-file error."""
    for path in paths[len(seen) :]:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
            continue
        seen.append(
            (
                str(ds.get("SeriesInstanceUID", "")),
                _text(ds, "Modality") or "",
                _text(ds, "SeriesDescription") or "",
            )
        )
    if len({s[0] for s in seen}) > 1:
        raise MixedSeriesError(seen)


# ---------------------------------------------------------------- fast path for slices 2..n
# Files after the first are usually explicit VR little endian and uncompressed. They are scanned
# here without building pydicom elements: only value bytes are kept, then compared byte for byte
# with the first file (which pydicom decoded and checked). Anything unusual (another transfer
# syntax, a parse problem, a value that differs) falls back to pydicom for that file, so this path
# never accepts what the pydicom path would refuse.

EXPLICIT_LE = "1.2.840.10008.1.2.1"
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD


class _FastParseError(Exception):
    pass


class _FastElement:
    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value


class _FastDataset:
    """Top-level value bytes of one explicit-VR-little-endian file (duck-types what the loop needs)."""

    def __init__(self, elements: dict[int, object]) -> None:
        self.elements = elements
        self.file_meta = {"TransferSyntaxUID": EXPLICIT_LE}

    def get_item(self, tag):
        value = self.elements.get(int(tag))
        return None if value is None else _FastElement(value)

    def __contains__(self, tag) -> bool:
        return int(tag) in self.elements

    def get(self, keyword: str, default=None):
        value = self.elements.get(int(Tag(keyword)))
        if value is None:
            return default
        return bytes(value).decode("latin-1").strip(" \x00") or default


def _element_header(buf, pos: int) -> tuple[int, int, int, int]:
    """(tag, value length, value start, VR-less flag) of the explicit VR LE element at ``pos``."""
    group, elem = struct.unpack_from("<HH", buf, pos)
    tag = (group << 16) | elem
    if group == 0xFFFE:  # item / delimiters carry no VR
        (length,) = struct.unpack_from("<I", buf, pos + 4)
        return tag, length, pos + 8, 1
    vr = bytes(buf[pos + 4 : pos + 6])
    if vr in _LONG_VRS:
        (length,) = struct.unpack_from("<I", buf, pos + 8)
        return tag, length, pos + 12, 0
    (length,) = struct.unpack_from("<H", buf, pos + 6)
    return tag, length, pos + 8, 0


def _skip_undefined(buf, pos: int, end_tag: int) -> int:
    """Position after the delimiter ``end_tag`` of an undefined-length sequence or item starting at ``pos``."""
    size = len(buf)
    while pos < size:
        tag, length, start, _ = _element_header(buf, pos)
        if tag == end_tag:
            return start
        if length == _UNDEFINED:
            pos = _skip_undefined(buf, start, _ITEM_END if tag == _ITEM else _SEQ_END)
        else:
            pos = start + length
    raise _FastParseError("missing delimiter")


def _fast_read(path: str) -> _FastDataset | None:
    """Scan a file; None when it is not plain explicit VR little endian (the caller uses pydicom)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if len(data) < 144 or data[128:132] != b"DICM":
            return None
        buf = memoryview(data)
        pos = 132
        ts = None
        while pos < len(data):
            tag, length, start, _ = _element_header(buf, pos)
            if tag >> 16 != 0x0002:
                break
            if tag == 0x00020010:
                ts = bytes(buf[start : start + length]).decode("ascii").strip(" \x00")
            pos = start + length
        if ts != EXPLICIT_LE:
            return None
        elements: dict[int, object] = {}
        size = len(data)
        while pos < size:
            tag, length, start, _ = _element_header(buf, pos)
            if length == _UNDEFINED:
                if tag == 0x7FE00010:
                    return None  # encapsulated pixel data
                end = _skip_undefined(buf, start, _SEQ_END)
                elements[tag] = bytes(buf[start : end - 8])
                pos = end
                continue
            end = start + length
            if end > size:
                raise _FastParseError("element runs past the end of the file")
            elements[tag] = buf[start:end] if tag == 0x7FE00010 else bytes(buf[start:end])
            pos = end
        return _FastDataset(elements)
    except (OSError, struct.error, UnicodeDecodeError, _FastParseError):
        return None


def _raw_bytes(ds, tag):
    """Undecoded value bytes of an element (fast comparison key); decoded values as a tagged tuple."""
    elem = ds.get_item(tag)
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, bytes):
        return value
    return ("decoded", repr(value))


def _raw_text(ds, tag) -> str | None:
    """A text element's value without pydicom's conversion (None if absent or empty)."""
    elem = ds.get_item(tag)
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, bytes):
        text = value.decode("latin-1").strip(" \x00")
    elif value is None:
        return None
    elif isinstance(value, pydicom.multival.MultiValue | list | tuple):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value).strip()
    return text or None


COMPARE_TAGS = tuple(Tag(k) for k in SERIES_LEVEL) + (
    Tag("RadiopharmaceuticalInformationSequence"),
    Tag("ImageOrientationPatient"),
    Tag("PixelSpacing"),
)
TAG_SERIES_UID, TAG_MODALITY, TAG_DESCRIPTION = (
    Tag("SeriesInstanceUID"),
    Tag("Modality"),
    Tag("SeriesDescription"),
)


def _identity(ds) -> tuple[str, str, str]:
    return (
        _raw_text(ds, TAG_SERIES_UID) or "",
        _raw_text(ds, TAG_MODALITY) or "",
        _raw_text(ds, TAG_DESCRIPTION) or "",
    )


def _read_validated(paths: list[str], modality: str, series_seen: list[tuple[str, str, str]]) -> PetSeries:
    volume: np.ndarray | None = None
    slices: list[_Slice] = []
    first = None
    first_raw: list = []
    first_keys: dict = {}
    first_rp: dict = {}
    pixel_format: tuple = ()
    for index, path in enumerate(paths):
        ds = (_fast_read(path) if first is not None else None) or _read(path)
        series_seen.append(_identity(ds))
        if series_seen[-1][0] != series_seen[0][0]:
            continue  # reported below once all files are known
        if first is None:
            first = ds
            first_raw = [_raw_bytes(ds, t) for t in COMPARE_TAGS]
            _check_first(ds, modality, path, len(paths))
            first_keys = {k: _raw_value(ds, k) for k in SERIES_LEVEL}
            for keyword in ("ImageOrientationPatient", "PixelSpacing"):
                first_keys["_" + keyword] = _raw_value(ds, keyword)
                first_keys["_values_" + keyword] = list(ds.get(keyword) or [])
            first_rp = _radiopharm(ds)
            rows, cols = int(ds.Rows), int(ds.Columns)
            pixel_format = _pixel_format(ds, path)
            volume = np.empty((len(paths), rows, cols), dtype=np.float32)
        elif [_raw_bytes(ds, t) for t in COMPARE_TAGS] != first_raw:
            if isinstance(ds, _FastDataset):
                ds = _read(path)  # decode for a precise, tolerant comparison
            _check_same(ds, first_keys, first_rp, path, modality)
        if not isinstance(ds, _FastDataset):
            _compressed_check(ds, path)
        pixels = _pixels(ds, path, rows, cols, pixel_format)
        slices.append(_slice_info(ds, path))
        out = volume[index]
        np.multiply(pixels, slices[-1].slope, out=out, casting="unsafe")
        if slices[-1].intercept:
            out += slices[-1].intercept
        del ds, pixels
    if len({s[0] for s in series_seen}) > 1:
        raise MixedSeriesError(series_seen)
    assert first is not None and volume is not None
    return _assemble(first, volume, slices, paths, modality)


def _check_first(ds, modality: str, path: str, n: int) -> None:
    found = _text(ds, "Modality")
    if found != modality:
        raise SeriesError(f"modality is {found or 'missing'}, expected {modality}")
    for keyword in ("Rows", "Columns", "BitsAllocated", "PixelRepresentation"):
        if keyword not in ds:
            raise SeriesError(f"{os.path.basename(path)}: {keyword} missing")
    _check_dimensions(int(ds.Rows), int(ds.Columns), n)
    if modality == "PT":
        _check_pet_header(ds)


def _check_pet_header(ds) -> None:
    units = _text(ds, "Units")
    if units not in SUPPORTED_UNITS:
        raise SeriesError(f"unsupported Units {units or 'missing'} (supported: {', '.join(SUPPORTED_UNITS)})")
    decay = _text(ds, "DecayCorrection")
    if decay not in SUPPORTED_DECAY:
        raise SeriesError(f"unsupported DecayCorrection {decay or 'missing'} (START, ADMIN or NONE)")
    corrected = {str(c).strip().upper() for c in (ds.get("CorrectedImage") or [])}
    missing = [c for c in ("ATTN", "DECY") if c not in corrected and not (c == "DECY" and decay == "NONE")]
    if missing:
        raise SeriesError(f"CorrectedImage lacks {' and '.join(missing)}: not usable for SUV")


def _check_same(ds, first_keys: dict, first_rp: dict, path: str, modality: str) -> None:
    for keyword in SERIES_LEVEL:
        expected = first_keys[keyword]
        value = _raw_value(ds, keyword)
        if value != expected:
            raise SeriesError(
                f"{os.path.basename(path)}: series-level attribute {keyword} differs between files"
            )
    for keyword, tol in (("ImageOrientationPatient", DIRECTION_TOL), ("PixelSpacing", SPACING_TOL)):
        _check_close(ds, first_keys, keyword, tol, path)
    if modality == "PT":
        rp = _radiopharm(ds)
        for key, expected in first_rp.items():
            if rp.get(key) != expected:
                raise SeriesError(
                    f"{os.path.basename(path)}: radiopharmaceutical {key} differs between files"
                )


def _check_close(ds, first_keys: dict, keyword: str, tol: float, path: str) -> None:
    raw = _raw_value(ds, keyword)
    expected = first_keys.get("_" + keyword)
    if raw == expected:
        return
    try:
        a = np.array([float(v) for v in ds.get(keyword)])
        b = np.array([float(v) for v in first_keys["_values_" + keyword]])
        same = a.shape == b.shape and np.max(np.abs(a - b)) <= tol
    except (TypeError, ValueError):
        same = False
    if not same:
        raise SeriesError(f"{os.path.basename(path)}: {keyword} differs between slices")


TAG_IPP, TAG_SOP = Tag("ImagePositionPatient"), Tag("SOPInstanceUID")
TAG_SLOPE, TAG_INTERCEPT = Tag("RescaleSlope"), Tag("RescaleIntercept")
TAG_ACQ_DATE, TAG_ACQ_TIME = Tag("AcquisitionDate"), Tag("AcquisitionTime")
TAG_FRT, TAG_AFD = Tag("FrameReferenceTime"), Tag("ActualFrameDuration")


def _slice_info(ds, path: str) -> _Slice:
    name = os.path.basename(path)
    ipp_text = _raw_text(ds, TAG_IPP)
    try:
        ipp = np.array([float(v) for v in (ipp_text or "").split("\\")])
    except ValueError as exc:
        raise SeriesError(f"{name}: ImagePositionPatient is not numeric") from exc
    if ipp.shape != (3,) or not np.all(np.isfinite(ipp)):
        raise SeriesError(f"{name}: ImagePositionPatient missing or malformed")
    slope = _float(_raw_text(ds, TAG_SLOPE))
    intercept = _float(_raw_text(ds, TAG_INTERCEPT))
    if slope is None:
        slope = 1.0
    if not math.isfinite(slope) or slope == 0:
        raise SeriesError(f"{name}: RescaleSlope {slope} is not usable")
    return _Slice(
        path=path,
        ipp=ipp,
        sop_uid=_raw_text(ds, TAG_SOP) or "",
        slope=slope,
        intercept=intercept or 0.0,
        acq_date=_raw_text(ds, TAG_ACQ_DATE),
        acq_time=_raw_text(ds, TAG_ACQ_TIME),
        frt=_float(_raw_text(ds, TAG_FRT)),
        afd=_float(_raw_text(ds, TAG_AFD)),
    )


def _orientation(first, paths) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
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


def _assemble(first, volume: np.ndarray, slices: list[_Slice], paths: list[str], modality: str) -> PetSeries:
    row, col, (dx, dy) = _orientation(first, paths)
    normal = np.cross(row, col)
    positions = np.array([s.ipp @ normal for s in slices])
    order = np.argsort(positions, kind="stable")
    positions = positions[order]
    dz = _slice_spacing(positions, first)
    origin = slices[order[0]].ipp
    for k, idx in enumerate(order):
        offset = slices[idx].ipp - origin
        in_plane = np.array([offset @ row, offset @ col])
        if np.max(np.abs(in_plane)) > POSITION_TOL * max(dx, dy) + 1e-3:
            raise SeriesError(f"slice {k} is shifted in-plane by {in_plane.round(3).tolist()} mm")
    _permute_in_place(volume, order)
    ordered = [slices[i] for i in order]
    affine = np.eye(4)
    affine[:3, 0] = row * dx
    affine[:3, 1] = col * dy
    affine[:3, 2] = normal * dz
    affine[:3, 3] = origin
    geometry = Geometry(
        origin=origin,
        row_direction=row,
        column_direction=col,
        normal=normal,
        spacing=(dx, dy, dz),
        shape=volume.shape,
        affine=affine,
        frame_of_reference_uid=str(first.get("FrameOfReferenceUID", "")),
        sop_instance_uids=tuple(s.sop_uid for s in ordered),
        slice_positions=tuple(float(p) for p in positions),
    )
    return PetSeries(
        volume=volume,
        geometry=geometry,
        header=_suv_header(first, ordered),
        series_instance_uid=str(first.get("SeriesInstanceUID", "")),
        series_description=_text(first, "SeriesDescription") or "",
        modality=modality,
        transfer_syntax=str(first.file_meta.get("TransferSyntaxUID", "")),
        rescale_slopes=tuple(s.slope for s in ordered),
        rescale_intercepts=tuple(s.intercept for s in ordered),
        files=tuple(s.path for s in ordered),
    )


def _slice_spacing(positions: np.ndarray, first) -> float:
    if len(positions) == 1:
        thickness = _float(first.get("SliceThickness")) or _float(first.get("SpacingBetweenSlices"))
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


def _permute_in_place(volume: np.ndarray, order: np.ndarray) -> None:
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


def _suv_header(first, ordered: list[_Slice]) -> SuvHeader:
    rp = _radiopharm(first)
    philips_suv = _float(_private(first, 0x7053, PHILIPS_CREATOR, 0x00))
    philips_act = _float(_private(first, 0x7053, PHILIPS_CREATOR, 0x09))
    ge_time = _private(first, 0x0009, GE_CREATOR, 0x0D)
    if isinstance(ge_time, bytes):
        ge_time = ge_time.decode("ascii", "replace")
    return SuvHeader(
        units=_text(first, "Units"),
        decay_correction=_text(first, "DecayCorrection"),
        corrected_image=tuple(str(c) for c in (first.get("CorrectedImage") or [])),
        series_date=_text(first, "SeriesDate"),
        series_time=_text(first, "SeriesTime"),
        acquisition_dates=tuple(s.acq_date for s in ordered),
        acquisition_times=tuple(s.acq_time for s in ordered),
        frame_reference_times_ms=tuple(s.frt for s in ordered),
        actual_frame_durations_ms=tuple(s.afd for s in ordered),
        patient_weight_kg=_float(first.get("PatientWeight")),
        patient_size_m=_float(first.get("PatientSize")),
        patient_sex=_text(first, "PatientSex"),
        total_dose=_float(rp.get("RadionuclideTotalDose")),
        half_life_s=_float(rp.get("RadionuclideHalfLife")),
        rp_start_time=_nonempty(rp.get("RadiopharmaceuticalStartTime")),
        rp_start_datetime=_nonempty(rp.get("RadiopharmaceuticalStartDateTime")),
        radionuclide_code=rp.get("code"),
        radionuclide_meaning=rp.get("meaning"),
        ge_post_injection_datetime=str(ge_time).strip() if ge_time else None,
        philips_suv_factor=philips_suv,
        philips_activity_factor=philips_act,
        suv_type=_text(first, "SUVType"),
        modality=_text(first, "Modality") or "",
    )


def _nonempty(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
