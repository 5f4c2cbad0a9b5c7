"""Per-frame MR attributes as vendors write them: timing, b-values and directions, TR and flip angle.

Classic single-frame files carry them at the top level (or in vendor private tags); enhanced multi-frame
objects carry them in the per-frame or shared functional groups (PS3.3 C.7.6.16, C.8.13.5). Every
function takes pydicom datasets and returns plain numbers (None when the file does not say).
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import numpy as np

from quant.dicom.enhanced import first_item, group_item

# Private tags (creator-relative offsets as written by the vendors' default private blocks).
PHILIPS_B = (0x2001, 0x1003)
PHILIPS_DIR = ((0x2005, 0x10B0), (0x2005, 0x10B1), (0x2005, 0x10B2))
GE_B = (0x0043, 0x1039)
GE_DIR = ((0x0019, 0x10BB), (0x0019, 0x10BC), (0x0019, 0x10BD))
SIEMENS_CSA_IMAGE = (0x0029, 0x1010)


def _number(value: Any, fmt: str = "<f") -> float | None:
    """First number of a value that pydicom may hand over decoded, as text, or as raw bytes (VR UN)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        if fmt != "text" and len(value) == struct.calcsize(fmt):
            return float(struct.unpack(fmt, value)[0])
        value = value.decode("latin-1").strip(" \x00")
    if isinstance(value, str):
        value = value.split("\\")[0].strip()
    elif not isinstance(value, int | float) and hasattr(value, "__getitem__"):
        try:
            value = value[0]
        except (IndexError, TypeError):
            return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def _elem_value(ds: Any, tag: tuple[int, int]) -> Any:
    elem = ds.get(tag) if ds is not None else None
    return None if elem is None else elem.value


def diffusion(ds: Any, frame: Any = None, shared: Any = None) -> tuple[float | None, np.ndarray | None]:
    """(b-value s/mm2, unit gradient direction or None) from the standard tags, Siemens CSA, GE or Philips."""
    item = group_item(frame, shared, "MRDiffusionSequence") if (frame or shared) else None
    src = item if item is not None else ds
    b = _number(src.get("DiffusionBValue")) if src is not None else None
    direction = None
    if src is not None:
        dseq = first_item(src, "DiffusionGradientDirectionSequence")
        vec = (dseq or src).get("DiffusionGradientOrientation")
        if vec is not None and len(vec) == 3:
            direction = np.array([float(v) for v in vec])
    if b is None:
        b, csa_dir = _siemens_csa(ds)
        direction = direction if direction is not None else csa_dir
    if b is None:
        b = _ge_b(ds)
        if b is not None and direction is None:
            direction = _vector(ds, GE_DIR)
    if b is None:
        b = _number(_elem_value(ds, PHILIPS_B), "<f")
        if b is not None and direction is None:
            direction = _vector(ds, PHILIPS_DIR)
    return b, direction


def _ge_b(ds: Any) -> float | None:
    """GE (0043,1039) first value; some versions add 1e9 to flag the b-value as the slop integer."""
    b = _number(_elem_value(ds, GE_B), "text")
    if b is not None and b >= 1e9:
        b -= 1e9
    return b


def _vector(ds: Any, tags: tuple[tuple[int, int], ...]) -> np.ndarray | None:
    vals = [_number(_elem_value(ds, t), "text" if t[0] == 0x0019 else "<f") for t in tags]
    if any(v is None for v in vals):
        return None
    return np.array(vals, dtype=float)


def _siemens_csa(ds: Any) -> tuple[float | None, np.ndarray | None]:
    """b-value and gradient from the Siemens CSA image header (nibabel's reader), if the file has one."""
    if _elem_value(ds, SIEMENS_CSA_IMAGE) is None:
        return None, None
    import warnings

    from nibabel.nicom import csareader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            csa = csareader.get_csa_header(ds, "image")
            if not csa:
                return None, None
            b = csareader.get_b_value(csa)
            g = csareader.get_g_vector(csa)
    except (csareader.CSAReadError, KeyError, ValueError, TypeError, IndexError, struct.error):
        return None, None
    b_out = _number(b)
    g_out = np.asarray(g, dtype=float) if g is not None and len(g) == 3 else None
    return b_out, g_out


def timing_and_flip(ds: Any, frame: Any = None, shared: Any = None) -> tuple[float | None, float | None]:
    """(RepetitionTime ms, FlipAngle deg): top level, else MR Timing and Related Parameters group."""
    item = group_item(frame, shared, "MRTimingAndRelatedParametersSequence") if (frame or shared) else None
    tr = _number(ds.get("RepetitionTime"))
    flip = _number(ds.get("FlipAngle"))
    if item is not None:
        tr = _number(item.get("RepetitionTime")) if tr is None else tr
        flip = _number(item.get("FlipAngle")) if flip is None else flip
    return tr, flip


def _dicom_datetime(date: Any, time: Any) -> float | None:
    """Seconds since the epoch of a DA + TM (or a DT when time is None); None if unusable."""
    try:
        if time is None:
            text = str(date).strip()
            if not text:
                return None
            main = text.split("+")[0].split("-")[0] if len(text) > 8 else text
            stamp = dt.datetime.strptime(main[:14].ljust(14, "0") + "+0000", "%Y%m%d%H%M%S%z")
            frac = float("0" + main[14:]) if len(main) > 14 and main[14] == "." else 0.0
            return stamp.timestamp() + frac
        t = str(time).strip()
        if not t:
            return None
        day = dt.datetime.strptime(str(date).strip() or "19700101", "%Y%m%d").replace(tzinfo=dt.UTC)
        hh, mm, ss = int(t[0:2]), int(t[2:4] or 0), float(t[4:] or 0)
        return day.timestamp() + hh * 3600 + mm * 60 + ss
    except (ValueError, TypeError):
        return None


def frame_timing(ds: Any, frame: Any = None) -> dict[str, float | None]:
    """Temporal index, trigger time (ms) and acquisition time (epoch s) of a frame or classic file."""
    content = first_item(frame, "FrameContentSequence") if frame is not None else None
    temporal = _number(ds.get("TemporalPositionIdentifier"))
    acq = None
    if content is not None:
        temporal = _number(content.get("TemporalPositionIndex")) if temporal is None else temporal
        fad = content.get("FrameAcquisitionDateTime")
        acq = _dicom_datetime(fad, None) if fad else None
    trigger = _number(ds.get("TriggerTime"))
    if trigger is None and frame is not None:
        card = first_item(frame, "CardiacSynchronizationSequence")
        trigger = _number(card.get("NominalCardiacTriggerDelayTime")) if card is not None else None
    if acq is None:
        adt = ds.get("AcquisitionDateTime")
        acq = _dicom_datetime(adt, None) if adt else None
    if acq is None and ds.get("AcquisitionTime"):
        acq = _dicom_datetime(
            ds.get("AcquisitionDate") or ds.get("SeriesDate") or "", ds.get("AcquisitionTime")
        )
    return {"temporal": temporal, "trigger_ms": trigger, "acq_s": acq}
