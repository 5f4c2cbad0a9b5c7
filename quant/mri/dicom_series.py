"""Read an MR series (classic single-frame files or enhanced multi-frame objects) into a 4-D array.

``read_mr_series(paths)`` returns an :class:`MrSeries`: ``data`` (x, y, z, n) in rescaled units, the
voxel-to-patient (LPS mm) affine, and per-volume times (s from the first volume), b-values, gradient
directions and flip angles, with the series' RepetitionTime. Frames are placed by ImagePositionPatient
projected on the slice normal; the frames at one position are ordered by (TemporalPositionIdentifier /
TemporalPositionIndex, flip angle, b-value, direction, trigger time, acquisition time, instance and
frame number), and volume v is the v-th frame at every position. Files without pixel data (presentation
states, Philips private objects) are skipped with a warning. Decoding (compressed syntaxes) and the
slice grid checks reuse quant.dicom. Every refusal is a SeriesError with one line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quant.dicom.enhanced import first_item, group_item
from quant.dicom.files import list_dicom_files, read_dicom
from quant.dicom.geometry import slice_order
from quant.dicom.pixels import check_decoder, check_dimensions
from quant.errors import MixedSeriesError, SeriesError
from quant.mri.dicom_tags import diffusion, frame_timing, timing_and_flip

MAX_FRAMES = 20000


@dataclass
class Frame:
    """One 2-D image with everything needed to place and order it."""

    pixels: np.ndarray
    ipp: np.ndarray
    iop: tuple[float, ...]
    spacing: tuple[float, float]
    thickness: float | None
    temporal: float | None
    trigger_ms: float | None
    acq_s: float | None
    b: float | None
    direction: np.ndarray | None
    tr_ms: float | None
    flip_deg: float | None
    order: tuple[int, int]  # (instance number, frame number)
    series_uid: str


@dataclass(kw_only=True)
class MrSeries:
    """A validated 4-D MR series; ``data`` is (x, y, z, n) float32."""

    data: np.ndarray
    affine: np.ndarray  # (x, y, z, 1) voxel index -> DICOM patient LPS mm
    times_s: np.ndarray | None
    b_values: np.ndarray | None
    directions: np.ndarray | None
    flip_deg: np.ndarray | None
    tr_ms: float | None
    series_uids: tuple[str, ...]
    description: str
    files: tuple[str, ...]
    enhanced: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def n_volumes(self) -> int:
        return int(self.data.shape[3])

    def nifti_affine(self) -> np.ndarray:
        """RAS affine for NIfTI (DICOM LPS with the first two axes negated)."""
        return np.diag([-1.0, -1.0, 1.0, 1.0]) @ self.affine


def read_mr_series(paths: list[str] | str, *, allow_several_series: bool = False) -> MrSeries:
    """Read, validate and stack one MR series (several only when allowed, e.g. VFA as one series per angle)."""
    if isinstance(paths, str):
        paths = list_dicom_files(paths)
    frames: list[Frame] = []
    warnings: list[str] = []
    used: list[str] = []
    seen: list[tuple[str, str, str]] = []
    enhanced = False
    for path in paths:
        if not _has_dicm_prefix(path):
            warnings.append(f"{os.path.basename(path)}: not a DICOM file (skipped)")
            continue
        ds = read_dicom(path)
        if "PixelData" not in ds:
            warnings.append(f"{os.path.basename(path)}: no pixel data (skipped)")
            continue
        modality = str(ds.get("Modality", ""))
        if modality != "MR":
            raise SeriesError(f"{os.path.basename(path)}: modality is {modality or 'missing'}, expected MR")
        seen.append((str(ds.get("SeriesInstanceUID", "")), modality, str(ds.get("SeriesDescription", ""))))
        new = _frames_of(ds, path)
        enhanced = enhanced or int(ds.get("NumberOfFrames") or 1) > 1
        frames.extend(new)
        used.append(path)
        if len(frames) > MAX_FRAMES:
            raise SeriesError(f"more than {MAX_FRAMES} frames")
    if not frames:
        raise SeriesError("no MR images with pixel data")
    if len({s[0] for s in seen}) > 1 and not allow_several_series:
        raise MixedSeriesError(seen)
    series = _assemble(frames, warnings)
    series.series_uids = tuple(dict.fromkeys(s[0] for s in seen))
    series.description = seen[0][2]
    series.files = tuple(used)
    series.enhanced = enhanced
    return series


def _has_dicm_prefix(path: str) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def _frames_of(ds: Any, path: str) -> list[Frame]:
    name = os.path.basename(path)
    for keyword in ("Rows", "Columns", "BitsAllocated"):
        if keyword not in ds:
            raise SeriesError(f"{name}: {keyword} missing")
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        raise SeriesError(f"{name}: colour images are not MR magnitude data")
    n = int(ds.get("NumberOfFrames") or 1)
    check_dimensions(int(ds.Rows), int(ds.Columns), n)
    check_decoder(ds, path)
    try:
        pixels = np.asarray(ds.pixel_array)
    except Exception as exc:  # decoders raise many types
        raise SeriesError(f"{name}: pixel data could not be decoded ({type(exc).__name__})") from exc
    pixels = pixels.reshape(n, int(ds.Rows), int(ds.Columns))
    instance = int(ds.get("InstanceNumber") or 0)
    uid = str(ds.get("SeriesInstanceUID", ""))
    if n == 1 and "PerFrameFunctionalGroupsSequence" not in ds:
        return [_classic_frame(ds, pixels[0], name, instance, uid)]
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    shared = first_item(ds, "SharedFunctionalGroupsSequence")
    if not per_frame or len(per_frame) != n:
        raise SeriesError(f"{name}: multi-frame object without one per-frame functional group per frame")
    return [_enhanced_frame(ds, per_frame[i], shared, pixels[i], name, (instance, i)) for i in range(n)]


def _floats(value: Any, n: int, what: str, name: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise SeriesError(f"{name}: {what} is not numeric") from exc
    if len(out) != n or not all(np.isfinite(out)):
        raise SeriesError(f"{name}: {what} missing or malformed")
    return out


def _classic_frame(ds: Any, pixels: np.ndarray, name: str, instance: int, uid: str) -> Frame:
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    b, direction = diffusion(ds)
    tr, flip = timing_and_flip(ds)
    timing = frame_timing(ds)
    return Frame(
        pixels=pixels.astype(np.float32) * slope + intercept,
        ipp=np.array(_floats(ds.get("ImagePositionPatient"), 3, "ImagePositionPatient", name)),
        iop=_floats(ds.get("ImageOrientationPatient"), 6, "ImageOrientationPatient", name),
        spacing=_floats(ds.get("PixelSpacing"), 2, "PixelSpacing", name),  # type: ignore[arg-type]
        thickness=_opt_float(ds.get("SliceThickness")),
        temporal=timing["temporal"],
        trigger_ms=timing["trigger_ms"],
        acq_s=timing["acq_s"],
        b=b,
        direction=direction,
        tr_ms=tr,
        flip_deg=flip,
        order=(instance, 0),
        series_uid=uid,
    )


def _enhanced_frame(
    ds: Any, frame: Any, shared: Any, pixels: np.ndarray, name: str, order: tuple[int, int]
) -> Frame:
    pos = group_item(frame, shared, "PlanePositionSequence")
    ori = group_item(frame, shared, "PlaneOrientationSequence")
    meas = group_item(frame, shared, "PixelMeasuresSequence")
    trans = group_item(frame, shared, "PixelValueTransformationSequence")
    if pos is None or ori is None or meas is None:
        raise SeriesError(f"{name}: frame {order[1] + 1} lacks plane position, orientation or pixel measures")
    slope = (
        float(trans.get("RescaleSlope", 1) or 1)
        if trans is not None
        else float(ds.get("RescaleSlope", 1) or 1)
    )
    intercept = (
        float(trans.get("RescaleIntercept", 0) or 0)
        if trans is not None
        else float(ds.get("RescaleIntercept", 0) or 0)
    )
    b, direction = diffusion(ds, frame, shared)
    tr, flip = timing_and_flip(ds, frame, shared)
    timing = frame_timing(ds, frame)
    return Frame(
        pixels=pixels.astype(np.float32) * slope + intercept,
        ipp=np.array(_floats(pos.get("ImagePositionPatient"), 3, "ImagePositionPatient", name)),
        iop=_floats(ori.get("ImageOrientationPatient"), 6, "ImageOrientationPatient", name),
        spacing=_floats(meas.get("PixelSpacing"), 2, "PixelSpacing", name),  # type: ignore[arg-type]
        thickness=_opt_float(meas.get("SliceThickness")),
        temporal=timing["temporal"],
        trigger_ms=timing["trigger_ms"],
        acq_s=timing["acq_s"],
        b=b,
        direction=direction,
        tr_ms=tr,
        flip_deg=flip,
        order=order,
        series_uid=str(ds.get("SeriesInstanceUID", "")),
    )


def _opt_float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _none_last(v: float | None) -> float:
    return float("inf") if v is None else float(v)


def _sort_key(f: Frame) -> tuple:
    direction = (
        tuple(np.round(f.direction, 4)) if f.direction is not None and (f.b or 0) > 0 else (0.0, 0.0, 0.0)
    )
    return (
        _none_last(f.temporal),
        _none_last(f.flip_deg),
        _none_last(f.b),
        direction,
        _none_last(f.trigger_ms),
        _none_last(f.acq_s),
        f.order,
    )


def _assemble(frames: list[Frame], warnings: list[str]) -> MrSeries:
    first = frames[0]
    shapes = {f.pixels.shape for f in frames}
    if len(shapes) > 1:
        raise SeriesError(f"frames have different sizes: {sorted(shapes)}")
    iop = np.array(first.iop)
    if any(np.max(np.abs(np.array(f.iop) - iop)) > 1e-3 for f in frames):
        raise SeriesError("frames have different ImageOrientationPatient (several stacks are not supported)")
    normal = np.cross(iop[:3], iop[3:])
    along = np.array([f.ipp @ normal for f in frames])
    positions = _cluster(along)
    groups: list[list[Frame]] = [[] for _ in positions]
    for f, a in zip(frames, along):
        groups[int(np.argmin(np.abs(positions - a)))].append(f)
    counts = {len(g) for g in groups}
    if len(counts) > 1:
        raise SeriesError(
            f"slice positions hold different numbers of frames ({sorted(counts)}): incomplete series"
        )
    for g in groups:
        g.sort(key=_sort_key)
    n_vol = counts.pop()
    header = {
        "ImageOrientationPatient": list(first.iop),
        "PixelSpacing": list(first.spacing),
        "SliceThickness": first.thickness,
    }
    order, grid = slice_order(header, [g[0].ipp for g in groups])
    groups = [groups[i] for i in order]
    rows, cols = first.pixels.shape
    data = np.empty((cols, rows, len(groups), n_vol), dtype=np.float32)
    for z, g in enumerate(groups):
        for v, f in enumerate(g):
            data[:, :, z, v] = f.pixels.T
    vols = [[g[v] for g in groups] for v in range(n_vol)]
    return MrSeries(
        data=data,
        affine=grid["affine"],
        times_s=_volume_times(vols, warnings),
        b_values=_per_volume(vols, "b", warnings),
        directions=_directions(vols),
        flip_deg=_per_volume(vols, "flip_deg", warnings),
        tr_ms=_common_tr(frames, warnings),
        series_uids=(),
        description="",
        files=(),
        enhanced=False,
        warnings=warnings,
    )


def _cluster(along: np.ndarray) -> np.ndarray:
    """Distinct slice positions (frames within 0.01 mm are one position)."""
    values = np.sort(along)
    out = [values[0]]
    for v in values[1:]:
        if v - out[-1] > 0.01:
            out.append(v)
    return np.array(out)


def _per_volume(vols: list[list[Frame]], attr: str, warnings: list[str]) -> np.ndarray | None:
    values = [[getattr(f, attr) for f in vol] for vol in vols]
    if all(v is None for vol in values for v in vol):
        return None
    out = np.empty(len(vols))
    for i, vol in enumerate(values):
        known = [v for v in vol if v is not None]
        if not known:
            return None
        if max(known) - min(known) > 1e-6 * max(1.0, abs(max(known))):
            raise SeriesError(f"volume {i + 1} mixes {attr} values {sorted(set(known))} across slices")
        out[i] = known[0]
    return out


def _directions(vols: list[list[Frame]]) -> np.ndarray | None:
    dirs = [vol[0].direction for vol in vols]
    if all(d is None for d in dirs):
        return None
    return np.array([d if d is not None else np.zeros(3) for d in dirs])


def _volume_times(vols: list[list[Frame]], warnings: list[str]) -> np.ndarray | None:
    """Seconds from the first volume: acquisition times if they differ, else trigger times, else None."""
    for attr, scale in (("acq_s", 1.0), ("trigger_ms", 1e-3)):
        vals = [[getattr(f, attr) for f in vol] for vol in vols]
        if any(v is None for vol in vals for v in vol):
            continue
        t = np.array([np.median(vol) for vol in vals]) * scale
        if len(t) > 1 and np.all(np.diff(t) > 0):
            return t - t[0]
    return None


def _common_tr(frames: list[Frame], warnings: list[str]) -> float | None:
    trs = {round(f.tr_ms, 4) for f in frames if f.tr_ms is not None}
    if not trs:
        return None
    if len(trs) > 1:
        warnings.append(f"RepetitionTime differs between frames ({sorted(trs)} ms); the first is used")
    return frames[0].tr_ms
