"""A PET series with its SUV header: the DICOM reader plus the checks and header fields that SUV needs.

``read_pet_series(paths)`` returns a :class:`PetSeries` (see ``quant.dicom.series``) whose ``header``
is the :class:`~quant.pet.suv.SuvHeader` summary of the first file and the per-slice timing, including
the Philips (7053,xx00/xx09) and GE (0009,xx0D) private elements.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pydicom.tag import Tag

from quant.dicom.series import Series, SeriesChecks, SliceInfo, read_series
from quant.dicom.values import float_value, nonempty, text_value
from quant.errors import SeriesError
from quant.pet.suv import SUPPORTED_DECAY, SUPPORTED_UNITS, SuvHeader

RADIOPHARM_LEVEL = (
    "RadionuclideTotalDose",
    "RadionuclideHalfLife",
    "RadiopharmaceuticalStartTime",
    "RadiopharmaceuticalStartDateTime",
)
PHILIPS_CREATOR = "Philips PET Private Group"
GE_CREATOR = "GEMS_PETD_01"


@dataclass(kw_only=True)
class PetSeries(Series):
    """A validated PET series: volume in stored units, geometry and the SUV header summary."""

    header: SuvHeader


class PetChecks(SeriesChecks):
    """Units, decay correction and corrections usable for SUV; one radiopharmaceutical in every file."""

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
