"""A PET series with its SUV header: the DICOM reader plus the checks and header fields that SUV needs.

``read_pet_series(paths)`` returns a :class:`PetSeries` (see ``quant.dicom.series``) whose ``header``
is the :class:`~quant.pet.suv.SuvHeader` summary of the first file and the per-slice timing, including
the Philips (7053,xx00/xx09) and GE (0009,xx0D) private elements.

Classic PET Image Storage files, one per slice, or one Enhanced PET (1.2.840.10008.5.1.4.1.1.130) or Legacy
Converted Enhanced PET (...128.1) object whose frames are the slices (``quant.dicom.enhanced``). A legacy
converted object keeps the classic attributes (Units, DecayCorrection, CorrectedImage, the isotope sequence,
FrameReferenceTime) as converted attributes. An Enhanced PET object states them differently (PS3.3 C.8.22,
A.56) and is mapped to their classic meaning by :func:`enhanced_pet_view`:

- Units and SUVType from the Real World Value Mapping's MeasurementUnitsCodeSequence (CID 84 "PET Units",
  UCUM: Bq/ml -> BQML, {counts} -> CNTS, g/ml{SUVbw} -> GML/BW, ...); a linear mapping must agree with the
  frame's RescaleSlope/Intercept, which scale the volume as in classic files;
- DecayCorrected NO -> DecayCorrection NONE; YES with DecayCorrectionDateTime equal to the
  RadiopharmaceuticalStartDateTime -> ADMIN, otherwise START with the decay reference time
  (DecayCorrectionDateTime) as SeriesDate/SeriesTime, FrameReferenceTime then counted from it (a reference
  after the first frame's acquisition needs every frame's FrameReferenceDateTime, after the reference: the
  SUV engine then back-computes it as for classic files whose SeriesTime follows the acquisition); an offset
  written in DecayCorrectionDateTime is honoured: the time is moved onto the object's clock, or gives it;
- CorrectedImage from the YES flags of the Enhanced PET Corrections (ATTN, DECY, SCAT, DTIM, RAN, NORM,
  CLN, RADL, DCAL, MOTN, PMOT);
- RadionuclideTotalDose of the Enhanced PET Isotope Module is in MBq (C.8.22.4), classic is Bq: converted;
  one radiopharmaceutical only;
- with DecayCorrected NO, a frame's PETFrameCorrectionFactorsSequence DecayFactor other than 1 contradicts it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from quant.dicom import enhanced
from quant.dicom.series import Series, SeriesChecks, SliceInfo, read_series
from quant.dicom.values import float_value, nonempty, text_value
from quant.errors import SeriesError
from quant.pet.suv import SUPPORTED_DECAY, SUPPORTED_UNITS, SuvHeader
from quant.pet.timing import dt_offset, parse_dt, parse_offset

RADIOPHARM_LEVEL = (
    "RadionuclideTotalDose",
    "RadionuclideHalfLife",
    "RadiopharmaceuticalStartTime",
    "RadiopharmaceuticalStartDateTime",
)
PHILIPS_CREATOR = "Philips PET Private Group"
GE_CREATOR = "GEMS_PETD_01"
# CID 84 "PET Units" (UCUM) -> classic (Units, SUVType)
PET_UNITS = {
    "Bq/ml": ("BQML", None),
    "{counts}": ("CNTS", None),
    "g/ml{SUVbw}": ("GML", "BW"),
    "g/ml{SUVlbm}": ("GML", "LBM"),
    "g/ml{SUVlbm(James128)}": ("GML", "LBMJAMES128"),
    "g/ml{SUVlbm(Janma)}": ("GML", "LBMJANMA"),
    "g/ml{SUVibw}": ("GML", "IBW"),
    "cm2/ml{SUVbsa}": ("CM2ML", "BSA"),
}
# Enhanced PET Corrections flags -> CorrectedImage values (PS3.3 C.8.22.6)
CORRECTION_FLAGS = (
    ("AttenuationCorrected", "ATTN"),
    ("DecayCorrected", "DECY"),
    ("ScatterCorrected", "SCAT"),
    ("DeadTimeCorrected", "DTIM"),
    ("RandomsCorrected", "RAN"),
    ("DetectorNormalizationCorrection", "NORM"),
    ("CountLossNormalizationCorrected", "CLN"),
    ("NonUniformRadialSamplingCorrected", "RADL"),
    ("SensitivityCalibrated", "DCAL"),
    ("GantryMotionCorrected", "MOTN"),
    ("PatientMotionCorrected", "PMOT"),
)


@dataclass(kw_only=True)
class PetSeries(Series):
    """A validated PET series: volume in stored units, geometry and the SUV header summary."""

    header: SuvHeader


class PetChecks(SeriesChecks):
    """Units, decay correction and corrections usable for SUV; one radiopharmaceutical in every file."""

    multiframe_sop_classes = frozenset({enhanced.ENHANCED_PET, enhanced.LEGACY_ENHANCED_PET})

    def enhanced_view(self, ds: Any, view: Any) -> Any:
        if str(ds.get("SOPClassUID", "")) == enhanced.ENHANCED_PET:
            return enhanced_pet_view(ds, view)
        return view  # legacy converted: the classic attributes are there as converted attributes

    def __init__(self) -> None:
        self.first: Any = None
        self.radiopharm: dict = {}

    def on_first(self, ds: Any) -> None:
        check_pet_header(ds)
        self.first = ds
        self.radiopharm = radiopharm(ds)

    def on_different(self, ds: Any, path: str) -> None:
        found = radiopharm(ds)
        for key, expected in self.radiopharm.items():
            if found.get(key) != expected:
                raise SeriesError(
                    f"{os.path.basename(path)}: radiopharmaceutical {key} differs between files"
                )


def read_pet_series(paths: list[str] | str) -> PetSeries:
    """Read and validate a PET series (modality PT) and summarise its SUV header."""
    checks = PetChecks()
    series = read_series(paths, "PT", checks)
    fields = {name: getattr(series, name) for name in Series.__dataclass_fields__}
    return PetSeries(**fields, header=suv_header(checks.first, series.slices))


def check_pet_header(ds: Any) -> None:
    """Refuse units, decay correction or missing corrections that SUV cannot be computed from."""
    units = text_value(ds, "Units")
    if units not in SUPPORTED_UNITS:
        raise SeriesError(f"unsupported Units {units or 'missing'} (supported: {', '.join(SUPPORTED_UNITS)})")
    decay = text_value(ds, "DecayCorrection")
    if decay not in SUPPORTED_DECAY:
        raise SeriesError(f"unsupported DecayCorrection {decay or 'missing'} (START, ADMIN or NONE)")
    corrected = {str(c).strip().upper() for c in (ds.get("CorrectedImage") or [])}
    missing = [c for c in ("ATTN", "DECY") if c not in corrected and not (c == "DECY" and decay == "NONE")]
    if missing:
        raise SeriesError(f"CorrectedImage lacks {' and '.join(missing)}: not usable for SUV")


def radiopharm(ds: Any) -> dict:
    """The first RadiopharmaceuticalInformationSequence item's dose, half-life, times and nuclide code."""
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


def private_value(ds: Any, group: int, creator: str, offset: int) -> Any:
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


def suv_header(first: Any, ordered: tuple[SliceInfo, ...]) -> SuvHeader:
    """The SUV header summary of a series from its first file and its slices in z order."""
    rp = radiopharm(first)
    philips_suv = float_value(private_value(first, 0x7053, PHILIPS_CREATOR, 0x00))
    philips_act = float_value(private_value(first, 0x7053, PHILIPS_CREATOR, 0x09))
    ge_time = private_value(first, 0x0009, GE_CREATOR, 0x0D)
    if isinstance(ge_time, bytes):
        ge_time = ge_time.decode("ascii", "replace")
    return SuvHeader(
        units=text_value(first, "Units"),
        decay_correction=text_value(first, "DecayCorrection"),
        corrected_image=tuple(str(c) for c in (first.get("CorrectedImage") or [])),
        series_date=text_value(first, "SeriesDate"),
        series_time=text_value(first, "SeriesTime"),
        acquisition_dates=tuple(s.acq_date for s in ordered),
        acquisition_times=tuple(s.acq_time for s in ordered),
        frame_reference_times_ms=tuple(s.frt for s in ordered),
        actual_frame_durations_ms=tuple(s.afd for s in ordered),
        patient_weight_kg=float_value(first.get("PatientWeight")),
        patient_size_m=float_value(first.get("PatientSize")),
        patient_sex=text_value(first, "PatientSex"),
        total_dose=float_value(rp.get("RadionuclideTotalDose")),
        half_life_s=float_value(rp.get("RadionuclideHalfLife")),
        rp_start_time=nonempty(rp.get("RadiopharmaceuticalStartTime")),
        rp_start_datetime=nonempty(rp.get("RadiopharmaceuticalStartDateTime")),
        radionuclide_code=rp.get("code"),
        radionuclide_meaning=rp.get("meaning"),
        ge_post_injection_datetime=str(ge_time).strip() if ge_time else None,
        philips_suv_factor=philips_suv,
        philips_activity_factor=philips_act,
        suv_type=text_value(first, "SUVType"),
        modality=text_value(first, "Modality") or "",
        timezone_offset=text_value(first, "TimezoneOffsetFromUTC"),
    )


# ---------------------------------------------------------------- Enhanced PET (SOP class ...1.130)


def enhanced_pet_view(ds: Any, view: Dataset) -> Dataset:
    """The classic PET attributes of an Enhanced PET object's classic view (see the module docstring)."""
    name = os.path.basename(str(ds.filename)) if getattr(ds, "filename", None) else "enhanced PET"
    frames, shared = ds.get(enhanced.PER_FRAME) or [], enhanced.shared_groups(ds)
    view.Units, suv_type = _units(frames, shared, name)
    if suv_type:
        view.SUVType = suv_type
    view.CorrectedImage = [code for flag, code in CORRECTION_FLAGS if text_value(ds, flag) == "YES"]
    view.RadiopharmaceuticalInformationSequence = _isotope(ds, name)
    view.DecayCorrection = _decay(ds, view, frames, shared, name)
    return view


def _units(frames: Any, shared: Any, name: str) -> tuple[str, str | None]:
    found: set[str] = set()
    for number, frame in enumerate(frames, start=1):
        item = _pet_mapping(frame, shared)
        if item is None:
            raise SeriesError(
                f"{name}: frame {number} has no Real World Value Mapping in PET units (CID 84), so its values "
                "have no known unit"
            )
        _check_mapping(item, frame, shared, f"{name}: frame {number}")
        found.add(_unit_code(item))
    if len(found) != 1:
        raise SeriesError(f"{name}: frames are in different units {sorted(found)}")
    return PET_UNITS[found.pop()]


def _pet_mapping(frame: Any, shared: Any) -> Any:
    """The frame's Real World Value Mapping item whose MeasurementUnitsCodeSequence is a CID 84 PET unit."""
    for owner in (frame, shared):
        for item in (owner.get("RealWorldValueMappingSequence") or []) if owner is not None else []:
            if _unit_code(item) in PET_UNITS:
                return item
    return None


def _unit_code(item: Any) -> str:
    """The UCUM code of a mapping's units (CodeValue, or LongCodeValue for codes over 16 characters)."""
    codes = item.get("MeasurementUnitsCodeSequence") or []
    if not codes:
        return ""
    return str(codes[0].get("CodeValue") or codes[0].get("LongCodeValue") or "").strip()


def _check_mapping(item: Any, frame: Any, shared: Any, where: str) -> None:
    """A linear mapping must give the values that RescaleSlope/Intercept give (the volume uses the latter)."""
    slope, intercept = (
        float_value(item.get("RealWorldValueSlope")),
        float_value(item.get("RealWorldValueIntercept")),
    )
    if slope is None:
        if "RealWorldValueLUTData" in item:
            raise SeriesError(f"{where}: a Real World Value Mapping LUT is not supported (linear only)")
        return
    rescale = enhanced.group_item(frame, shared, "PixelValueTransformationSequence")
    r_slope = float_value(rescale.get("RescaleSlope")) if rescale is not None else None
    r_intercept = float_value(rescale.get("RescaleIntercept")) if rescale is not None else None
    if (
        r_slope is None
        or abs(slope - r_slope) > 1e-6 * abs(r_slope)
        or abs((intercept or 0) - (r_intercept or 0)) > 1e-6 * max(abs(r_slope), 1e-12)
    ):
        raise SeriesError(
            f"{where}: Real World Value Mapping (slope {slope:g}) differs from RescaleSlope/Intercept ({r_slope})"
        )


def _isotope(ds: Any, name: str) -> Sequence:
    items = ds.get("RadiopharmaceuticalInformationSequence") or []
    if len(items) != 1:
        raise SeriesError(
            f"{name}: {len(items)} radiopharmaceuticals in the Enhanced PET Isotope Module (one is needed for SUV)"
        )
    item = Dataset()
    item.update(items[0])
    dose = float_value(items[0].get("RadionuclideTotalDose"))
    if dose is not None:
        item.RadionuclideTotalDose = f"{dose * 1e6:.10g}"  # MBq in Enhanced PET, Bq in the classic module
    return Sequence([item])


def _decay(ds: Any, view: Dataset, frames: Any, shared: Any, name: str) -> str:
    corrected = text_value(ds, "DecayCorrected")
    if corrected == "NO":
        for number, frame in enumerate(frames, start=1):
            item = enhanced.group_item(frame, shared, "PETFrameCorrectionFactorsSequence")
            factor = float_value(item.get("DecayFactor")) if item is not None else None
            if factor is not None and abs(factor - 1.0) > 1e-9:
                raise SeriesError(
                    f"{name}: DecayCorrected is NO but frame {number} has DecayFactor {factor:g}"
                )
        return "NONE"
    if corrected != "YES":
        raise SeriesError(f"{name}: DecayCorrected is {corrected or 'missing'} (YES or NO)")
    when = text_value(ds, "DecayCorrectionDateTime")
    if when is None:
        raise SeriesError(f"{name}: DecayCorrected is YES but DecayCorrectionDateTime is missing")
    when = _on_object_clock(when, view, frames)
    injection = view.RadiopharmaceuticalInformationSequence[0].get("RadiopharmaceuticalStartDateTime")
    if parse_dt(when) == parse_dt(nonempty(injection)):
        return "ADMIN"
    date, time, _offset = enhanced.split_dt(when)
    if time is None:
        raise SeriesError(f"{name}: DecayCorrectionDateTime {when} has no time")
    view.SeriesDate, view.SeriesTime = date, time  # classic START: decay corrected to the series time
    _check_late_reference(when, frames, name)
    return "START"


def _on_object_clock(when: str, view: Dataset, frames: Any) -> str:
    """DecayCorrectionDateTime as wall-clock time of the object's own clock (TimezoneOffsetFromUTC, else the
    frames' acquisition offset), since the classic SeriesDate/SeriesTime it becomes carry no offset; an offset
    written only here becomes the object's clock."""
    own = dt_offset(when)
    if own is None:
        return when
    wall = when.strip()[:-5]
    clock_text = text_value(view, "TimezoneOffsetFromUTC") or _frames_offset(frames)
    if clock_text is None:
        view.TimezoneOffsetFromUTC = when.strip()[-5:]
        return wall
    clock = parse_offset(clock_text)
    moment = parse_dt(wall)
    assert clock is not None and moment is not None
    shifted = moment - own.utcoffset(None) + clock.utcoffset(None)
    return shifted.strftime("%Y%m%d%H%M%S.%f")


def _frames_offset(frames: Any) -> str | None:
    for frame in frames:
        content = (frame.get("FrameContentSequence") or [None])[0]
        if content is not None:
            offset = enhanced.split_dt(content.get("FrameAcquisitionDateTime"))[2]
            if offset:
                return offset
    return None


def _check_late_reference(when: str, frames: Any, name: str) -> None:
    """A decay reference after the first acquisition is usable only with every frame's FrameReferenceDateTime."""
    contents = [(f.get("FrameContentSequence") or [None])[0] for f in frames]
    starts = [parse_dt(nonempty(c.get("FrameAcquisitionDateTime"))) for c in contents if c is not None]
    known = [t for t in starts if t is not None]
    reference = parse_dt(when)
    if not known or reference <= min(known):
        return
    frame_refs = [
        parse_dt(nonempty(c.get("FrameReferenceDateTime"))) if c is not None else None for c in contents
    ]
    if any(t is None for t in frame_refs):
        raise SeriesError(
            f"{name}: DecayCorrectionDateTime {when} is after the first frame's acquisition and "
            "FrameReferenceDateTime is missing: the decay reference cannot be placed"
        )
    if any(t <= reference for t in frame_refs):  # the classic FrameReferenceTime would not be positive
        raise SeriesError(
            f"{name}: DecayCorrectionDateTime {when} is after a frame's FrameReferenceDateTime: "
            "the decay reference cannot be placed"
        )
