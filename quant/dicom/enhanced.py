"""Enhanced multi-frame images read as a stack of slices: functional groups, converted attributes, one volume.

PS3.3 C.7.6.16 (Multi-frame Functional Groups): every frame has an item of PerFrameFunctionalGroupsSequence;
a functional group macro sits either there or once in SharedFunctionalGroupsSequence. A frame becomes a
slice from PlanePositionSequence/ImagePositionPatient, PlaneOrientationSequence/ImageOrientationPatient,
PixelMeasuresSequence (PixelSpacing, SliceThickness), PixelValueTransformationSequence (RescaleSlope/
Intercept, per frame) and FrameContentSequence (FrameAcquisitionDateTime, FrameReferenceDateTime,
FrameAcquisitionDuration in ms, StackID, TemporalPositionIndex).

Legacy Converted Enhanced objects (C.7.6.16.2.24/25) keep the attributes of the classic files that no
macro holds in UnassignedSharedConvertedAttributesSequence (same in every frame) or
UnassignedPerFrameConvertedAttributesSequence: :func:`converted` reads them, per frame first.

:func:`classic_view` gives the object's series-level attributes as a classic single-frame header (the
shared converted attributes lifted, orientation and pixel measures of the first frame at the top level), so
series-level checks written for classic files apply unchanged; :func:`frames_of` gives each frame's
position, rescale and timing and refuses what is not one volume (several stacks or time positions).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from quant.dicom.values import float_value, nonempty
from quant.errors import SeriesError

ENHANCED_PET = "1.2.840.10008.5.1.4.1.1.130"
LEGACY_ENHANCED_PET = "1.2.840.10008.5.1.4.1.1.128.1"
PER_FRAME, SHARED = "PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"
UNASSIGNED_PER_FRAME = "UnassignedPerFrameConvertedAttributesSequence"
UNASSIGNED_SHARED = "UnassignedSharedConvertedAttributesSequence"
ORIENTATION_TOL, SPACING_TOL = 1e-4, 1e-3
_DT = re.compile(r"^(\d{8})(\d{2,6}(?:\.\d{1,6})?)?([+-]\d{4})?$")


@dataclass
class Frame:
    """One frame of an enhanced object as a slice: place, rescale and timing (DA/TM strings, ms)."""

    number: int  # 1-based frame number
    ipp: np.ndarray
    iop: tuple[float, ...]
    spacing: tuple[float, float]
    thickness: float | None
    slope: float
    intercept: float
    acq_date: str | None
    acq_time: str | None
    acq_offset: str | None  # the "&ZZXX" of FrameAcquisitionDateTime
    frt: float | None  # ms from the series reference time (classic FrameReferenceTime meaning)
    afd: float | None  # FrameAcquisitionDuration / ActualFrameDuration, ms
    reference_datetime: str | None  # FrameReferenceDateTime as written
    stack_id: str | None
    temporal_index: int | None


def is_multiframe(ds: Any) -> bool:
    """True for an object with several frames or with per-frame functional groups."""
    try:
        frames = int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError):
        frames = 1
    return frames > 1 or PER_FRAME in ds


def number_of_frames(ds: Any, path: str) -> int:
    try:
        return int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError) as exc:
        raise SeriesError(f"{os.path.basename(path)}: NumberOfFrames is not a number") from exc


def first_item(seq_owner: Any, keyword: str) -> Any:
    """The first item of a sequence (None when the owner or the sequence is absent or empty)."""
    seq = seq_owner.get(keyword) if seq_owner is not None else None
    return seq[0] if seq else None


def group_item(frame: Any, shared: Any, keyword: str) -> Any:
    """The first item of a functional group macro's sequence, per-frame first, else shared."""
    return first_item(frame, keyword) or first_item(shared, keyword)


def shared_groups(ds: Any) -> Any:
    return first_item(ds, SHARED)


def converted(ds: Any, frame: Any, shared: Any, keyword: str) -> Any:
    """A classic attribute of a converted object: per-frame unassigned, shared unassigned, then top level."""
    for owner in (first_item(frame, UNASSIGNED_PER_FRAME), first_item(shared, UNASSIGNED_SHARED), ds):
        if owner is not None and keyword in owner:
            return owner.get(keyword)
    return None


def split_dt(text: Any) -> tuple[str | None, str | None, str | None]:
    """DICOM DT -> (DA, TM, offset "+HHMM" or None); (None, None, None) when absent."""
    raw = nonempty(text)
    if raw is None:
        return None, None, None
    match = _DT.match(raw)
    if not match:
        raise SeriesError(f"unreadable DICOM datetime {raw!r}")
    return match.group(1), match.group(2), match.group(3)


def classic_view(ds: Any) -> Dataset:
    """Series-level attributes as a classic header: top level, shared converted attributes, first frame's plane."""
    view = Dataset()
    for elem in ds:
        if elem.keyword not in (PER_FRAME, SHARED, "PixelData", "FloatPixelData", "DoubleFloatPixelData"):
            view.add(copy.deepcopy(elem))
    shared = shared_groups(ds)
    unassigned = first_item(shared, UNASSIGNED_SHARED)
    for elem in unassigned or []:
        if elem.tag not in view:
            view.add(copy.deepcopy(elem))
    first = first_item(ds, PER_FRAME)
    for macro, keywords in (
        ("PlaneOrientationSequence", ("ImageOrientationPatient",)),
        ("PixelMeasuresSequence", ("PixelSpacing", "SliceThickness", "SpacingBetweenSlices")),
    ):
        item = group_item(first, shared, macro)
        for keyword in keywords:
            if item is not None and keyword in item:
                view[keyword] = copy.deepcopy(item[keyword])
    view.file_meta = copy.deepcopy(ds.file_meta) if hasattr(ds, "file_meta") else Dataset()
    return view


def check_per_frame(ds: Any, path: str) -> int:
    """The number of frames, refused unless PerFrameFunctionalGroupsSequence has one item per frame."""
    n = number_of_frames(ds, path)
    per_frame = ds.get(PER_FRAME)
    if not per_frame or len(per_frame) != n:
        found = len(per_frame) if per_frame else 0
        raise SeriesError(
            f"{os.path.basename(path)}: PerFrameFunctionalGroupsSequence has {found} items for {n} frames "
            "(a per-frame functional group is missing)"
        )
    return n


def frames_of(ds: Any, path: str, view: Any) -> list[Frame]:
    """Every frame as a slice (see the module docstring); SeriesError with one line when one cannot be placed."""
    name = os.path.basename(path)
    n = check_per_frame(ds, path)
    per_frame = ds.get(PER_FRAME)
    shared = shared_groups(ds)
    series_ref = _series_reference(view)
    return [_frame(ds, per_frame[i], shared, i + 1, name, series_ref) for i in range(n)]


def _floats(value: Any, count: int, what: str, where: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in (value if value is not None else ()))
    except (TypeError, ValueError) as exc:
        raise SeriesError(f"{where}: {what} is not numeric") from exc
    if len(out) != count or not all(np.isfinite(out)):
        raise SeriesError(f"{where}: {what} missing or malformed")
    return out


def _required(frame: Any, shared: Any, macro: str, where: str) -> Any:
    item = group_item(frame, shared, macro)
    if item is None:
        raise SeriesError(f"{where} has no {macro} (per-frame or shared functional group missing)")
    return item


def _frame(ds: Any, frame: Any, shared: Any, number: int, name: str, series_ref: Any) -> Frame:
    where = f"{name}: frame {number}"
    position = _required(frame, shared, "PlanePositionSequence", where)
    orientation = _required(frame, shared, "PlaneOrientationSequence", where)
    measures = _required(frame, shared, "PixelMeasuresSequence", where)
    content = first_item(frame, "FrameContentSequence")
    if content is None:
        raise SeriesError(f"{where} has no FrameContentSequence (per-frame functional group missing)")
    slope, intercept = _rescale(ds, frame, shared, where)
    acq_date, acq_time, offset = split_dt(content.get("FrameAcquisitionDateTime"))
    if acq_time is None:  # converted objects may keep the classic pair
        acq_date = nonempty(converted(ds, frame, shared, "AcquisitionDate"))
        acq_time = nonempty(converted(ds, frame, shared, "AcquisitionTime"))
    afd = float_value(content.get("FrameAcquisitionDuration"))
    if afd is None:
        afd = float_value(converted(ds, frame, shared, "ActualFrameDuration"))
    reference = nonempty(content.get("FrameReferenceDateTime"))
    frt = float_value(converted(ds, frame, shared, "FrameReferenceTime"))
    if frt is None and reference is not None and series_ref is not None:
        frt = (_wall(reference) - series_ref) * 1000.0
    temporal = content.get("TemporalPositionIndex")
    return Frame(
        number=number,
        ipp=np.array(_floats(position.get("ImagePositionPatient"), 3, "ImagePositionPatient", where)),
        iop=_floats(orientation.get("ImageOrientationPatient"), 6, "ImageOrientationPatient", where),
        spacing=_floats(measures.get("PixelSpacing"), 2, "PixelSpacing", where),  # type: ignore[arg-type]
        thickness=float_value(measures.get("SliceThickness")),
        slope=slope,
        intercept=intercept,
        acq_date=acq_date,
        acq_time=acq_time,
        acq_offset=offset,
        frt=frt,
        afd=afd,
        reference_datetime=reference,
        stack_id=nonempty(content.get("StackID")),
        temporal_index=int(temporal) if temporal not in (None, "") else None,
    )


def _rescale(ds: Any, frame: Any, shared: Any, where: str) -> tuple[float, float]:
    item = _required(frame, shared, "PixelValueTransformationSequence", where)
    slope = float_value(item.get("RescaleSlope"))
    intercept = float_value(item.get("RescaleIntercept"))
    if slope is None or not np.isfinite(slope) or slope == 0:
        raise SeriesError(f"{where}: RescaleSlope {item.get('RescaleSlope')} is not usable")
    return slope, intercept or 0.0


def _series_reference(view: Any) -> float | None:
    """SeriesDate + SeriesTime as seconds (wall clock), the origin of classic FrameReferenceTime."""
    date, time = nonempty(view.get("SeriesDate")), nonempty(view.get("SeriesTime"))
    if date is None or time is None:
        return None
    return _wall(date + time)


def _wall(dt_text: str) -> float:
    """Seconds since 1970 of a DT's wall-clock value (the offset is ignored: differences only)."""
    date, time, _offset = split_dt(dt_text)
    assert date is not None
    digits = (time or "").split(".")
    hhmmss = (digits[0] + "000000")[:6]
    frac = float("0." + digits[1]) if len(digits) > 1 and digits[1] else 0.0
    moment = dt.datetime(
        int(date[:4]),
        int(date[4:6]),
        int(date[6:]),
        int(hhmmss[:2]),
        int(hhmmss[2:4]),
        int(hhmmss[4:]),
        tzinfo=dt.UTC,
    )
    return moment.timestamp() + frac


def check_single_volume(frames: list[Frame], path: str) -> None:
    """Refuse several stacks, several time positions or repeated slice positions (not one volume)."""
    name = os.path.basename(path)
    stacks = {f.stack_id for f in frames if f.stack_id is not None}
    if len(stacks) > 1:
        raise SeriesError(
            f"{name}: {len(stacks)} stacks (StackID) in one enhanced object; only a single volume is supported"
        )
    times = {f.temporal_index for f in frames if f.temporal_index is not None}
    if len(times) > 1:
        raise SeriesError(
            f"{name}: dynamic enhanced object with {len(times)} time positions (TemporalPositionIndex); "
            "only a single time point is supported"
        )
    iop = np.array(frames[0].iop)
    for f in frames:
        if np.max(np.abs(np.array(f.iop) - iop)) > ORIENTATION_TOL:
            raise SeriesError(
                f"{name}: frame {f.number} has another orientation (several stacks are not supported)"
            )
        if np.max(np.abs(np.array(f.spacing) - np.array(frames[0].spacing))) > SPACING_TOL:
            raise SeriesError(f"{name}: frame {f.number} has another PixelSpacing")
    normal = np.cross(iop[:3], iop[3:])
    along = np.sort([f.ipp @ normal for f in frames])
    repeated = int(np.sum(np.diff(along) < 1e-3))
    if repeated:
        raise SeriesError(
            f"{name}: {len(frames)} frames at {len(frames) - repeated} slice positions: several time points or "
            "stacks (a dynamic or multi-stack enhanced object) are not supported"
        )


def common_offset(frames: list[Frame], view: Any, path: str) -> str | None:
    """The one UTC offset written in the frames' acquisition datetimes (refused if they disagree)."""
    offsets = {f.acq_offset for f in frames if f.acq_offset}
    header = nonempty(view.get("TimezoneOffsetFromUTC"))
    if header:
        offsets.add(header)
    if len(offsets) > 1:
        raise SeriesError(f"{os.path.basename(path)}: frames give different UTC offsets {sorted(offsets)}")
    return next(iter(offsets), None)
