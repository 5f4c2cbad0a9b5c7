"""Read and validate one series of single-frame DICOM files, or one enhanced multi-frame object, into a volume.

``read_series(paths, modality)`` returns a :class:`Series` (float32 volume [z, y, x] in stored units after
per-slice RescaleSlope/Intercept, its geometry and each slice's position and timing) or raises
:class:`~quant.errors.SeriesError` with a one-line message. Files are never read with ``force``; every
check below runs before anything is returned. A modality adds its own checks through
:class:`SeriesChecks` (``quant.pet.series`` does for PET).

Memory: the float32 volume is allocated once; each file's pixel bytes are converted into its slot
and released, then slices are put in z order in place (peak about volume + one file).

Enhanced multi-frame objects (``quant.dicom.enhanced``) are read only for the SOP classes a modality's
:class:`SeriesChecks` names in ``multiframe_sop_classes`` (PET: Enhanced and Legacy Converted Enhanced PET),
and only as the one file of their series: each frame becomes a slice (``SliceInfo.frame``), the checks see
the object's classic view (``enhanced.classic_view``, which a modality may complete in ``enhanced_view``),
and ``Series.files`` lists each file once. Any other multi-frame file is refused.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.tag import Tag

from quant.dicom import enhanced
from quant.dicom.fastread import FastDataset, fast_read
from quant.dicom.files import Identity, list_dicom_files, raise_if_mixed, read_dicom
from quant.dicom.geometry import DIRECTION_TOL, SPACING_TOL, Geometry, permute_in_place, slice_order
from quant.dicom.pixels import check_decoder, check_dimensions, lossy_reason, pixel_format, stored_pixels
from quant.dicom.values import comparison_key, float_value, raw_bytes, raw_text, text_value
from quant.errors import MixedSeriesError, SeriesError

# Attributes that must be identical in every file of a series.
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
TAG_IPP, TAG_SOP = Tag("ImagePositionPatient"), Tag("SOPInstanceUID")
TAG_SLOPE, TAG_INTERCEPT = Tag("RescaleSlope"), Tag("RescaleIntercept")
TAG_ACQ_DATE, TAG_ACQ_TIME = Tag("AcquisitionDate"), Tag("AcquisitionTime")
TAG_FRT, TAG_AFD = Tag("FrameReferenceTime"), Tag("ActualFrameDuration")


@dataclass
class SliceInfo:
    """One file's position, rescale and timing (the volume holds its pixels)."""

    path: str
    ipp: np.ndarray
    sop_uid: str
    slope: float
    intercept: float
    acq_date: str | None
    acq_time: str | None
    frt: float | None  # FrameReferenceTime, ms
    afd: float | None  # ActualFrameDuration, ms
    frame: int | None = None  # frame number (1-based) in an enhanced multi-frame object


@dataclass(kw_only=True)
class Series:
    """A validated series: volume in stored units (after rescale), geometry and per-slice information."""

    volume: np.ndarray
    geometry: Geometry
    series_instance_uid: str
    series_description: str
    modality: str
    transfer_syntax: str
    rescale_slopes: tuple[float, ...]
    rescale_intercepts: tuple[float, ...]
    files: tuple[str, ...]  # each file once, in z order of its first slice
    slices: tuple[SliceInfo, ...] = ()
    warnings: list[str] = field(default_factory=list)
    lossy: tuple[str, ...] = ()  # why pixels may have lost information (empty: lossless)
    transfer_syntaxes: tuple[str, ...] = ()  # every transfer syntax met in the series


class SeriesChecks:
    """Modality-specific checks that :func:`read_series` runs; this base adds none and reads no multi-frame."""

    multiframe_sop_classes: frozenset[str] = frozenset()

    def enhanced_view(self, ds: Any, view: Any) -> Any:
        """Complete the classic view of an enhanced object (``enhanced.classic_view``) before the checks."""
        return view

    def on_first(self, ds: Any) -> None:
        """Check the first file (decoded by pydicom); raise SeriesError to refuse the series."""

    def on_different(self, ds: Any, path: str) -> None:
        """Check a later file whose series-level bytes differ from the first (decoded by pydicom)."""


def read_series(paths: list[str] | str, modality: str, checks: SeriesChecks | None = None) -> Series:
    """Read, validate and stack one series; see the module docstring."""
    if isinstance(paths, str):
        paths = list_dicom_files(paths)
    paths = list(paths)
    if not paths:
        raise SeriesError("no files given")
    seen: list[Identity] = []
    try:
        return _read_validated(paths, modality, checks or SeriesChecks(), seen)
    except SeriesError:
        raise_if_mixed(paths, seen)
        raise


def _identity(ds: Any) -> Identity:
    return (
        raw_text(ds, TAG_SERIES_UID) or "",
        raw_text(ds, TAG_MODALITY) or "",
        raw_text(ds, TAG_DESCRIPTION) or "",
    )


class _FirstFile:
    """What later files are compared with: the first file's raw bytes and decoded series-level values."""

    def __init__(self, ds: Any, path: str, raw: list[Any]) -> None:
        self.ds = ds
        self.raw = raw
        self.keys = {k: comparison_key(ds, k) for k in SERIES_LEVEL}
        for keyword in ("ImageOrientationPatient", "PixelSpacing"):
            self.keys["_" + keyword] = comparison_key(ds, keyword)
            self.keys["_values_" + keyword] = list(ds.get(keyword) or [])
        self.rows, self.cols = int(ds.Rows), int(ds.Columns)
        self.pixel_format = pixel_format(ds, path)


def _read_validated(paths: list[str], modality: str, checks: SeriesChecks, seen: list[Identity]) -> Series:
    volume: np.ndarray | None = None
    slices: list[SliceInfo] = []
    first: _FirstFile | None = None
    lossy: dict[str, int] = {}
    syntaxes: dict[str, None] = {}
    for index, path in enumerate(paths):
        ds = (fast_read(path) if first is not None else None) or read_dicom(path)
        seen.append(_identity(ds))
        if seen[-1][0] != seen[0][0]:
            continue  # reported below once all files are known
        if first is None and enhanced.is_multiframe(ds):
            return _read_enhanced(ds, paths, modality, checks)
        if first is None:
            raw = [raw_bytes(ds, t) for t in COMPARE_TAGS]  # before any check decodes them (fast path)
            _check_first(ds, modality, path, len(paths))
            checks.on_first(ds)
            first = _FirstFile(ds, path, raw)
            volume = np.empty((len(paths), first.rows, first.cols), dtype=np.float32)
        elif [raw_bytes(ds, t) for t in COMPARE_TAGS] != first.raw:
            if isinstance(ds, FastDataset):
                ds = read_dicom(path)  # decode for a precise, tolerant comparison
            _check_same(ds, first.keys, path)
            checks.on_different(ds, path)
        if not isinstance(ds, FastDataset):
            check_decoder(ds, path)
        pixels = stored_pixels(ds, path, first.rows, first.cols, first.pixel_format)
        syntaxes[str(ds.file_meta.get("TransferSyntaxUID", ""))] = None
        reason = lossy_reason(ds)
        if reason:
            lossy[reason] = lossy.get(reason, 0) + 1
        slices.append(_slice_info(ds, path))
        out = volume[index]
        np.multiply(pixels, slices[-1].slope, out=out, casting="unsafe")
        if slices[-1].intercept:
            out += slices[-1].intercept
        del ds, pixels
    if len({s[0] for s in seen}) > 1:
        raise MixedSeriesError(seen)
    assert first is not None and volume is not None
    series = _assemble(first.ds, volume, slices, modality)
    series.lossy = tuple(lossy)
    series.transfer_syntaxes = tuple(syntaxes)
    series.warnings.extend(
        f"lossy compression in {n} of {len(paths)} files: {why}; values may differ from the scanner's"
        for why, n in lossy.items()
    )
    return series


def _check_first(ds: Any, modality: str, path: str, n: int) -> None:
    found = text_value(ds, "Modality")
    if found != modality:
        raise SeriesError(f"modality is {found or 'missing'}, expected {modality}")
    for keyword in ("Rows", "Columns", "BitsAllocated", "PixelRepresentation"):
        if keyword not in ds:
            raise SeriesError(f"{os.path.basename(path)}: {keyword} missing")
    check_dimensions(int(ds.Rows), int(ds.Columns), n)


def _check_same(ds: Any, first_keys: dict, path: str) -> None:
    for keyword in SERIES_LEVEL:
        if comparison_key(ds, keyword) != first_keys[keyword]:
            raise SeriesError(
                f"{os.path.basename(path)}: series-level attribute {keyword} differs between files"
            )
    for keyword, tol in (("ImageOrientationPatient", DIRECTION_TOL), ("PixelSpacing", SPACING_TOL)):
        _check_close(ds, first_keys, keyword, tol, path)


def _check_close(ds: Any, first_keys: dict, keyword: str, tol: float, path: str) -> None:
    if comparison_key(ds, keyword) == first_keys.get("_" + keyword):
        return
    try:
        a = np.array([float(v) for v in ds.get(keyword)])
        b = np.array([float(v) for v in first_keys["_values_" + keyword]])
        same = a.shape == b.shape and np.max(np.abs(a - b)) <= tol
    except (TypeError, ValueError):
        same = False
    if not same:
        raise SeriesError(f"{os.path.basename(path)}: {keyword} differs between slices")


def _slice_info(ds: Any, path: str) -> SliceInfo:
    name = os.path.basename(path)
    ipp_text = raw_text(ds, TAG_IPP)
    try:
        ipp = np.array([float(v) for v in (ipp_text or "").split("\\")])
    except ValueError as exc:
        raise SeriesError(f"{name}: ImagePositionPatient is not numeric") from exc
    if ipp.shape != (3,) or not np.all(np.isfinite(ipp)):
        raise SeriesError(f"{name}: ImagePositionPatient missing or malformed")
    slope = float_value(raw_text(ds, TAG_SLOPE))
    intercept = float_value(raw_text(ds, TAG_INTERCEPT))
    if slope is None:
        slope = 1.0
    if not math.isfinite(slope) or slope == 0:
        raise SeriesError(f"{name}: RescaleSlope {slope} is not usable")
    return SliceInfo(
        path=path,
        ipp=ipp,
        sop_uid=raw_text(ds, TAG_SOP) or "",
        slope=slope,
        intercept=intercept or 0.0,
        acq_date=raw_text(ds, TAG_ACQ_DATE),
        acq_time=raw_text(ds, TAG_ACQ_TIME),
        frt=float_value(raw_text(ds, TAG_FRT)),
        afd=float_value(raw_text(ds, TAG_AFD)),
    )


def _read_enhanced(ds: Any, paths: list[str], modality: str, checks: SeriesChecks) -> Series:
    """One enhanced multi-frame object as a volume: each frame a slice (see the module docstring)."""
    path = paths[0]
    name = os.path.basename(path)
    frames = enhanced.number_of_frames(ds, path)
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class not in checks.multiframe_sop_classes:
        raise SeriesError(f"{name}: multi-frame images ({frames} frames) are not supported")
    if len(paths) > 1:
        raise SeriesError(
            f"{name}: an enhanced multi-frame object must be the only file of its series ({len(paths)} files given)"
        )
    enhanced.check_per_frame(ds, path)
    view = checks.enhanced_view(ds, enhanced.classic_view(ds))
    infos = enhanced.frames_of(ds, path, view)
    enhanced.check_single_volume(infos, path)
    offset = enhanced.common_offset(infos, view, path)
    if offset and "TimezoneOffsetFromUTC" not in view:
        view.TimezoneOffsetFromUTC = offset  # the frames' own offset applies to the series times too
    _check_first(view, modality, path, frames)
    checks.on_first(view)
    check_decoder(ds, path)
    rows, cols = int(ds.Rows), int(ds.Columns)
    pixels = stored_pixels(ds, path, rows, cols, pixel_format(ds, path), frames).reshape(frames, rows, cols)
    volume = np.empty((frames, rows, cols), dtype=np.float32)
    sop_uid = str(ds.get("SOPInstanceUID", ""))
    slices = []
    for f in infos:
        out = volume[f.number - 1]
        np.multiply(pixels[f.number - 1], f.slope, out=out, casting="unsafe")
        if f.intercept:
            out += f.intercept
        slices.append(
            SliceInfo(
                path, f.ipp, sop_uid, f.slope, f.intercept, f.acq_date, f.acq_time, f.frt, f.afd, f.number
            )
        )
    del pixels
    series = _assemble(view, volume, slices, modality)
    series.files = (path,)
    series.transfer_syntaxes = (str(ds.file_meta.get("TransferSyntaxUID", "")),)
    reason = lossy_reason(ds)
    if reason:
        series.lossy = (reason,)
        series.warnings.append(
            f"lossy compression in 1 of 1 files: {reason}; values may differ from the scanner's"
        )
    return series


def _assemble(first: Any, volume: np.ndarray, slices: list[SliceInfo], modality: str) -> Series:
    order, grid = slice_order(first, [s.ipp for s in slices])
    permute_in_place(volume, order)
    ordered = tuple(slices[i] for i in order)
    geometry = Geometry(
        **grid,
        shape=volume.shape,
        frame_of_reference_uid=str(first.get("FrameOfReferenceUID", "")),
        sop_instance_uids=tuple(s.sop_uid for s in ordered),
    )
    return Series(
        volume=volume,
        geometry=geometry,
        series_instance_uid=str(first.get("SeriesInstanceUID", "")),
        series_description=text_value(first, "SeriesDescription") or "",
        modality=modality,
        transfer_syntax=str(first.file_meta.get("TransferSyntaxUID", "")),
        rescale_slopes=tuple(s.slope for s in ordered),
        rescale_intercepts=tuple(s.intercept for s in ordered),
        files=tuple(s.path for s in ordered),
        slices=ordered,
    )
