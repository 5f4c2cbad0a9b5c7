"""QIBA vendor-neutral SUV computation (pure Python, no Django, no pydicom).

Input is a :class:`SuvHeader` (a plain summary of the DICOM attributes SUV needs; built by
``quant.dicom.series`` from real files or by tests from header vectors). Output is a
:class:`SuvResult` whose ``slice_factors`` multiply stored values (after Rescale Slope/Intercept)
to give SUVbw in g/mL.

Rules (docs/DOMAIN-IMAGING.md): Units BQML, CNTS (Philips private factors), GML (with SUVType),
CM2ML; DecayCorrection START, ADMIN, NONE; reference time in QIBA order (series time if not after
the earliest acquisition, GE private post-injection time, IBSI back-computation from
FrameReferenceTime, earliest acquisition); dose below 1e4 is MBq; weight above 1000 is grams;
injection time without a date is refused for 89Zr unless a dosing-record datetime is given.

All datetimes are wall-clock times carried as UTC-aware datetimes (DICOM DA/TM carry no zone).
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from quant.errors import SuvError
from quant.pet.timing import (  # noqa: F401 - parse_* re-exported for existing importers
    combine,
    dt_offset,
    parse_da,
    parse_dt,
    parse_iso,
    parse_offset,
    parse_tm,
    to_instant,
)

ZR89_HALF_LIFE_S = 282_276.0
ZR89_TOLERANCE = 0.005
ZR89_CODES = {"63360001", "C-168A4"}
SUPPORTED_UNITS = ("BQML", "CNTS", "GML", "CM2ML")
SUPPORTED_DECAY = ("START", "ADMIN", "NONE")


@dataclass(frozen=True)
class SuvHeader:
    """Attributes SUV needs; per-slice tuples are in the volume's z order."""

    units: str | None
    decay_correction: str | None
    corrected_image: tuple[str, ...]
    series_date: str | None
    series_time: str | None
    acquisition_dates: tuple[str | None, ...]
    acquisition_times: tuple[str | None, ...]
    frame_reference_times_ms: tuple[float | None, ...] = ()
    actual_frame_durations_ms: tuple[float | None, ...] = ()
    patient_weight_kg: float | None = None
    patient_size_m: float | None = None
    patient_sex: str | None = None
    total_dose: float | None = None
    half_life_s: float | None = None
    rp_start_time: str | None = None
    rp_start_datetime: str | None = None
    radionuclide_code: str | None = None
    radionuclide_meaning: str | None = None
    ge_post_injection_datetime: str | None = None
    philips_suv_factor: float | None = None
    philips_activity_factor: float | None = None
    suv_type: str | None = None
    modality: str = "PT"
    timezone_offset: str | None = None  # TimezoneOffsetFromUTC (+HHMM), applies to every DA/TM/DT


@dataclass
class SuvResult:
    """SUVbw scaling: ``suv = stored_value * slice_factors[z]``."""

    suv_bw_factor: float
    slice_factors: tuple[float, ...]
    decay_time_s: float
    reference_time: datetime | None
    reference_time_source: str
    injection_time: datetime | None
    injection_time_source: str
    weight_kg: float
    dose_bq: float | None
    half_life_s: float | None
    units: str
    decay_correction: str
    formula: str
    warnings: list[str] = field(default_factory=list)
    time_basis: str = ""  # how the wall-clock times became instants (zone rules used)
    activity_decay_factor: float = 1.0  # activity at injection / activity at calibration

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("reference_time", "injection_time"):
            value = data[key]
            data[key] = value.replace(tzinfo=None).isoformat() if value else None
        data["slice_factors"] = list(self.slice_factors)
        return data


@dataclass(frozen=True)
class Normalisation:
    """A body-size SUV variant: ``value = suv_bw * factor``."""

    name: str
    factor: float
    formula: str


# ---------------------------------------------------------------- body size


def lbm_james_kg(weight_kg: float, height_cm: float, sex: str, male_coefficient: float = 128.0) -> float:
    """James lean body mass (kg); sex M or F; male coefficient 128 (QIBA) or 120 (legacy)."""
    ratio = (weight_kg / height_cm) ** 2
    if sex == "M":
        return 1.10 * weight_kg - male_coefficient * ratio
    if sex == "F":
        return 1.07 * weight_kg - 148.0 * ratio
    raise SuvError(f"James LBM needs PatientSex M or F, got {sex!r}")


def lbm_janmahasatian_kg(weight_kg: float, height_cm: float, sex: str) -> float:
    """Janmahasatian 2005 lean body mass (kg)."""
    bmi = weight_kg / (height_cm / 100.0) ** 2
    if sex == "M":
        return 9270.0 * weight_kg / (6680.0 + 216.0 * bmi)
    if sex == "F":
        return 9270.0 * weight_kg / (8780.0 + 244.0 * bmi)
    raise SuvError(f"Janmahasatian LBM needs PatientSex M or F, got {sex!r}")


def bsa_dubois_m2(weight_kg: float, height_cm: float) -> float:
    """Du Bois body surface area (m2)."""
    return 0.007184 * height_cm**0.725 * weight_kg**0.425


def ibw_kg(height_cm: float, sex: str | None) -> float:
    """Ideal body weight (kg), Devine (0.91 kg per cm over 152.4 cm); sex other/unknown uses the male base."""
    base = 45.5 if sex == "F" else 50.0
    return base + 0.91 * (height_cm - 152.4)


def normalisations(
    suv_bw_factor: float, weight_kg: float, height_m: float | None, sex: str | None
) -> list[Normalisation]:
    """SUL (Janmahasatian, James), SUVbsa (Du Bois) and %ID/kg relative to SUVbw."""
    out = [Normalisation("pct_id_per_kg", 100.0 / weight_kg, "%ID/kg = 100 * SUVbw / W[kg]")]
    if not height_m:
        return out
    height_cm = height_m * 100.0
    bsa = bsa_dubois_m2(weight_kg, height_cm)
    out.append(
        Normalisation("suv_bsa", bsa * 1e4 / (weight_kg * 1e3), "SUVbsa = SUVbw * BSA[cm2]/W[g], BSA Du Bois")
    )
    if sex in ("M", "F"):
        janma = lbm_janmahasatian_kg(weight_kg, height_cm, sex)
        james = lbm_james_kg(weight_kg, height_cm, sex)
        out.append(
            Normalisation("sul_janmahasatian", janma / weight_kg, f"SUL = SUVbw * LBM/W, Janmahasatian {sex}")
        )
        out.append(Normalisation("sul_james", james / weight_kg, f"SUL = SUVbw * LBM/W, James {sex}"))
    return out


# ---------------------------------------------------------------- time helpers


def _acquisition_datetimes(header: SuvHeader) -> list[datetime | None]:
    out = []
    for date_text, time_text in zip(header.acquisition_dates, header.acquisition_times):
        out.append(combine(date_text or header.series_date, time_text))
    return out


def average_count_time_s(half_life_s: float, duration_s: float) -> float:
    """T_ave = (1/lambda) ln(lambda T / (1 - e^(-lambda T))), the decay-weighted mid-frame time."""
    lam = math.log(2.0) / half_life_s
    x = lam * duration_s
    if x < 1e-9:
        return duration_s / 2.0
    return math.log(x / -math.expm1(-x)) / lam


def _back_computed(header: SuvHeader, acq: list[datetime | None], half_life: float) -> list[datetime] | None:
    frts, afds = header.frame_reference_times_ms, header.actual_frame_durations_ms
    if not frts or not afds or len(frts) != len(acq):
        return None
    out = []
    for t_acq, frt, afd in zip(acq, frts, afds):
        if t_acq is None or not frt or not afd or frt <= 0 or afd <= 0:
            return None
        t_ave = average_count_time_s(half_life, afd / 1000.0)
        out.append(t_acq + timedelta(seconds=t_ave - frt / 1000.0))
    return out


def reference_time(header: SuvHeader, half_life: float | None, warnings: list[str]) -> tuple[datetime, str]:
    """Decay reference time for DecayCorrection START, in QIBA order with IBSI back-computation."""
    acq = _acquisition_datetimes(header)
    known = [t for t in acq if t is not None]
    earliest = min(known) if known else None
    series_dt = combine(header.series_date, header.series_time)
    if series_dt is not None and (earliest is None or series_dt <= earliest):
        return series_dt, "SeriesDate/SeriesTime (not after the earliest acquisition)"
    if header.ge_post_injection_datetime:
        value = parse_dt(header.ge_post_injection_datetime)
        if value is not None:
            return value, "GE private (0009,xx0D) GEMS_PETD_01 post-injection datetime"
    if half_life:
        back = _back_computed(header, acq, half_life)
        if back:
            spread = (max(back) - min(back)).total_seconds()
            if spread > 1.0:
                warnings.append(f"back-computed reference times differ by {spread:.1f} s between frames")
            why = "series time after acquisition" if series_dt is not None else "no series time"
            return back[0], f"back-computed t_acq + T_ave - FrameReferenceTime/1000 (IBSI; {why})"
    if earliest is not None:
        return earliest, "earliest AcquisitionDate/AcquisitionTime (QIBA)"
    raise SuvError("no usable reference time: SeriesDate/SeriesTime and AcquisitionTime are missing")


def injection_time(
    header: SuvHeader,
    scan_time: datetime | None,
    override: datetime | None,
    strict_zr89: bool,
    warnings: list[str],
) -> tuple[datetime, str]:
    """Injection datetime: override (dosing record), header datetime, or series date + time."""
    if override is not None:
        return override, "injection datetime given (dosing record)"
    header_dt = parse_dt(header.rp_start_datetime)
    if header_dt is not None:
        return header_dt, "RadiopharmaceuticalStartDateTime"
    time_only = parse_tm(header.rp_start_time)
    if time_only is None:
        raise SuvError("no injection time: RadiopharmaceuticalStartDateTime and StartTime are both missing")
    if strict_zr89:
        raise SuvError(
            "injection time has no date (RadiopharmaceuticalStartTime only); for 89Zr give the injection "
            "date-time from the dosing record"
        )
    date_parts = parse_da(header.series_date) or parse_da(
        next((d for d in header.acquisition_dates if d), None)
    )
    if date_parts is None:
        raise SuvError("injection time has no date and the series has no date")
    value = datetime(*date_parts, tzinfo=UTC) + time_only
    source = "SeriesDate + RadiopharmaceuticalStartTime"
    if scan_time is not None and value > scan_time:
        value -= timedelta(days=1)
        source += " minus one day (injection before midnight)"
        warnings.append("injection time lands after the scan on the series date: taken as the previous day")
    warnings.append("injection time has no date: assumed on the series date")
    return value, source


# ---------------------------------------------------------------- checks


def _check_preconditions(header: SuvHeader, strict_zr89: bool) -> tuple[str, str]:
    units = (header.units or "").strip().upper()
    decay = (header.decay_correction or "").strip().upper()
    if header.modality != "PT":
        raise SuvError(f"SUV needs Modality PT, got {header.modality!r}")
    if units not in SUPPORTED_UNITS:
        raise SuvError(f"unsupported Units {header.units!r} (supported: {', '.join(SUPPORTED_UNITS)})")
    if decay not in SUPPORTED_DECAY:
        raise SuvError(f"unsupported DecayCorrection {header.decay_correction!r} (START, ADMIN or NONE)")
    corrected = {c.strip().upper() for c in header.corrected_image}
    if "ATTN" not in corrected:
        raise SuvError("CorrectedImage lacks ATTN: the series is not attenuation corrected")
    if decay != "NONE" and "DECY" not in corrected:
        raise SuvError(f"CorrectedImage lacks DECY although DecayCorrection is {decay}")
    if strict_zr89:
        _check_zr89(header)
    return units, decay


def _check_zr89(header: SuvHeader) -> None:
    half = header.half_life_s
    if not half:
        raise SuvError("RadionuclideHalfLife is missing: cannot confirm 89Zr")
    if abs(half - ZR89_HALF_LIFE_S) > ZR89_TOLERANCE * ZR89_HALF_LIFE_S:
        raise SuvError(f"RadionuclideHalfLife {half:g} s is not 89Zr (282,276 s within 0.5%)")
    code, meaning = (header.radionuclide_code or "").strip(), (header.radionuclide_meaning or "").lower()
    if code and code not in ZR89_CODES and not ("89" in meaning and "zirc" in meaning):
        raise SuvError(f"radionuclide code {code} ({header.radionuclide_meaning}) is not 89Zr")


def _weight_kg(header: SuvHeader, override: float | None, warnings: list[str]) -> float:
    weight = override if override is not None else header.patient_weight_kg
    if weight is None or weight <= 0:
        raise SuvError("PatientWeight is missing or zero: give the weight in kg")
    if weight > 1000:
        warnings.append(f"PatientWeight {weight:g} read as grams")
        weight /= 1000.0
    return float(weight)


def _dose_bq(header: SuvHeader, override_mbq: float | None, warnings: list[str]) -> float:
    if override_mbq is not None:
        if override_mbq <= 0:
            raise SuvError("injected activity must be positive")
        return override_mbq * 1e6
    dose = header.total_dose
    if dose is None or dose <= 0:
        raise SuvError("RadionuclideTotalDose is missing or zero: give the injected activity in MBq")
    if dose < 1e4:
        warnings.append(f"RadionuclideTotalDose {dose:g} read as MBq")
        dose *= 1e6
    return float(dose)


# ---------------------------------------------------------------- main entry


@dataclass(frozen=True)
class Clock:
    """How wall-clock times become instants and when the injected activity was measured.

    ``injection_instant`` (aware, e.g. the dosing record's UTC time) replaces the header's injection time;
    ``activity_measured_at`` (aware) is the dose calibrator's measurement time of ``injected_mbq``: the
    activity is decayed from it to the injection instant; ``site_tz`` (IANA) localises wall-clock times
    that carry no offset (see quant.pet.timing).
    """

    site_tz: str | None = None
    injection_instant: datetime | None = None
    activity_measured_at: datetime | None = None


def compute_suv(
    header: SuvHeader,
    *,
    injection_datetime: datetime | str | None = None,
    injected_mbq: float | None = None,
    weight_kg: float | None = None,
    strict_zr89: bool = True,
    clock: Clock | None = None,
) -> SuvResult:
    """SUVbw scaling factors for one series (QIBA vendor-neutral pseudo-code)."""
    clock = clock or Clock()
    if clock.activity_measured_at is not None and injected_mbq is None:
        raise SuvError("an activity measurement time needs the measured activity (injected MBq)")
    warnings: list[str] = []
    units, decay = _check_preconditions(header, strict_zr89)
    if isinstance(injection_datetime, str):
        injection_datetime = parse_iso(injection_datetime)
    weight = _weight_kg(header, weight_kg, warnings)
    n = max(len(header.acquisition_times), 1)
    if units == "GML":
        factor, formula = _gml_factor(header, weight)
        return _static(factor, n, weight, header, units, decay, formula, warnings)
    if units == "CM2ML":
        height_cm = _height_cm(header)
        factor = weight * 1e3 / (bsa_dubois_m2(weight, height_cm) * 1e4)
        formula = "SUVbw = stored SUVbsa * W[g] / BSA[cm2] (Du Bois)"
        return _static(factor, n, weight, header, units, decay, formula, warnings)
    if units == "CNTS" and header.philips_suv_factor:
        if injected_mbq is not None or weight_kg is not None:
            warnings.append("Philips SUV scale factor used as stored: dose/weight overrides do not apply")
        formula = "SUVbw = counts * Philips (7053,1000) SUV scale factor"
        return _static(float(header.philips_suv_factor), n, weight, header, units, decay, formula, warnings)
    scale = 1.0
    if units == "CNTS":
        if not header.philips_activity_factor:
            raise SuvError("Units CNTS without a Philips (7053,1000) SUV or (7053,1009) activity factor")
        scale = float(header.philips_activity_factor)
    return _activity_factors(
        header, units, decay, weight, scale, injection_datetime, injected_mbq, strict_zr89, warnings, clock
    )


def _height_cm(header: SuvHeader) -> float:
    if not header.patient_size_m or header.patient_size_m <= 0:
        raise SuvError("PatientSize is missing: needed to convert this SUV type to SUVbw")
    size = header.patient_size_m
    return size if size > 3 else size * 100.0


def _gml_factor(header: SuvHeader, weight: float) -> tuple[float, str]:
    suv_type = (header.suv_type or "BW").strip().upper()
    if suv_type == "BW":
        return 1.0, "stored values are SUVbw (Units GML, SUVType BW)"
    height = _height_cm(header)
    sex = (header.patient_sex or "").strip().upper()
    if suv_type in ("LBM", "LBMJAMES128"):
        lbm = lbm_james_kg(weight, height, sex)
        return weight / lbm, f"SUVbw = SUVlbm * W/LBM (James, 128, sex {sex})"
    if suv_type == "LBMJANMA":
        lbm = lbm_janmahasatian_kg(weight, height, sex)
        return weight / lbm, f"SUVbw = SUVlbm * W/LBM (Janmahasatian, sex {sex})"
    if suv_type == "BSA":
        return weight * 1e3 / (bsa_dubois_m2(weight, height) * 1e4), "SUVbw = SUVbsa * W[g]/BSA[cm2]"
    if suv_type == "IBW":
        # Direction taken from the IBSI DRO_2_2 encoding (stored = SUVbw * W/IBW with Devine IBW,
        # male base for sex O); the textbook SUVibw = A*IBW/D would convert with W/IBW instead.
        ibw = ibw_kg(height, sex)
        return ibw / weight, f"SUVbw = SUVibw * IBW/W (Devine 0.91 kg/cm, sex {sex or 'unknown'})"
    raise SuvError(f"unsupported SUVType {header.suv_type!r} for Units GML")


def _static(factor, n, weight, header, units, decay, formula, warnings) -> SuvResult:
    return SuvResult(
        suv_bw_factor=factor,
        slice_factors=(factor,) * n,
        decay_time_s=0.0,
        reference_time=None,
        reference_time_source="not needed: stored values already scaled",
        injection_time=None,
        injection_time_source="not needed",
        weight_kg=weight,
        dose_bq=header.total_dose,
        half_life_s=header.half_life_s,
        units=units,
        decay_correction=decay,
        formula=formula,
        warnings=warnings,
    )


def _injection(header, clock, scan_wall, override_inj, strict_zr89, warnings):
    """(wall clock, instant, source, zone rule) of the injection."""
    header_offset = parse_offset(header.timezone_offset)
    if clock.injection_instant is not None and override_inj is None:
        instant = clock.injection_instant.astimezone(UTC)
        zone = zoneinfo.ZoneInfo(clock.site_tz) if clock.site_tz else header_offset or UTC
        wall = instant.astimezone(zone).replace(tzinfo=UTC)
        return wall, instant, "injection instant given (dosing record)", "absolute instant"
    wall, source = injection_time(header, scan_wall, override_inj, strict_zr89, warnings)
    own = dt_offset(header.rp_start_datetime) if source == "RadiopharmaceuticalStartDateTime" else None
    instant, rule = to_instant(wall, own_offset=own, header_offset=header_offset, site_tz=clock.site_tz)
    return wall, instant, source, rule


def _calibrated(dose: float, clock: Clock, injection: datetime | None, half: float, warnings: list[str]):
    """Activity decayed from the dose calibrator's measurement time to the injection instant."""
    if clock.activity_measured_at is None:
        return dose, 1.0
    if injection is None:
        raise SuvError("the activity measurement time is given but the injection time is unknown")
    elapsed = (injection - clock.activity_measured_at.astimezone(UTC)).total_seconds()
    if elapsed < 0:
        warnings.append(f"activity measured {-elapsed / 60:.0f} min after the injection: decayed back to it")
    factor = 2.0 ** (-elapsed / half)
    return dose * factor, factor


def _activity_factors(
    header, units, decay, weight, scale, override_inj, injected_mbq, strict_zr89, warnings, clock
) -> SuvResult:
    dose = _dose_bq(header, injected_mbq, warnings)
    half = header.half_life_s
    if not half or half <= 0:
        raise SuvError("RadionuclideHalfLife is missing or zero")
    lam = math.log(2.0) / half
    prefix = "Philips (7053,1009) * " if units == "CNTS" else ""
    acq = _acquisition_datetimes(header)
    if decay == "NONE":
        args = (header, acq, lam, half, dose, weight, units, scale, override_inj, strict_zr89, prefix)
        return _none_factors(*args, warnings, clock)
    if decay == "ADMIN":
        inj = (
            _injection(header, clock, None, override_inj, strict_zr89, warnings)
            if clock.activity_measured_at
            else None
        )
        dose, activity_factor = _calibrated(dose, clock, inj[1] if inj else None, half, warnings)
        base = weight * 1e3 / dose * scale
        return SuvResult(
            base,
            (base,) * max(len(acq), 1),
            0.0,
            None,
            "DecayCorrection ADMIN",
            inj[0] if inj else None,
            inj[2] if inj else "not needed (decay corrected to administration)",
            weight,
            dose,
            half,
            units,
            decay,
            f"SUVbw = {prefix}A * W[g] / D (DecayCorrection ADMIN)",
            warnings,
            "no decay interval (DecayCorrection ADMIN)",
            activity_factor,
        )
    t_ref, ref_src = reference_time(header, half, warnings)
    own = dt_offset(header.ge_post_injection_datetime) if ref_src.startswith("GE private") else None
    ref_instant, ref_rule = to_instant(
        t_ref, own_offset=own, header_offset=parse_offset(header.timezone_offset), site_tz=clock.site_tz
    )
    t_inj, inj_instant, inj_src, inj_rule = _injection(
        header, clock, t_ref, override_inj, strict_zr89, warnings
    )
    decay_s = (ref_instant - inj_instant).total_seconds()
    if decay_s < 0:
        raise SuvError(
            f"injection ({t_inj:%Y-%m-%d %H:%M:%S}) is after the reference time ({t_ref:%Y-%m-%d %H:%M:%S})"
        )
    wall_s = (t_ref - t_inj).total_seconds()
    if abs(wall_s - decay_s) > 1.0:
        warnings.append(
            f"decay interval {decay_s / 3600:.2f} h between absolute instants differs from the wall-clock "
            f"difference {wall_s / 3600:.2f} h (daylight-saving or time-zone change between injection and scan)"
        )
    dose, activity_factor = _calibrated(dose, clock, inj_instant, half, warnings)
    factor = weight * 1e3 / dose * scale / 2.0 ** (-decay_s / half)
    return SuvResult(
        factor,
        (factor,) * max(len(acq), 1),
        decay_s,
        t_ref,
        ref_src,
        t_inj,
        inj_src,
        weight,
        dose,
        half,
        units,
        decay,
        f"SUVbw = {prefix}A * W[g] / (D * 2^(-(t_ref - t_inj)/T_half))",
        warnings,
        f"reference time: {ref_rule}; injection: {inj_rule}",
        activity_factor,
    )


def _none_factors(
    header, acq, lam, half, dose, weight, units, scale, override_inj, strict_zr89, prefix, warnings, clock
):
    known = [t for t in acq if t is not None]
    if len(known) != len(acq) or not acq:
        raise SuvError("DecayCorrection NONE needs AcquisitionTime on every slice")
    durations = header.actual_frame_durations_ms
    if len(durations) != len(acq) or any(not d or d <= 0 for d in durations):
        raise SuvError("DecayCorrection NONE needs ActualFrameDuration on every slice")
    t_inj, inj_instant, inj_src, inj_rule = _injection(
        header, clock, min(known), override_inj, strict_zr89, warnings
    )
    offset = parse_offset(header.timezone_offset)
    instants = [to_instant(t, own_offset=None, header_offset=offset, site_tz=clock.site_tz)[0] for t in acq]
    dose, activity_factor = _calibrated(dose, clock, inj_instant, half, warnings)
    base = weight * 1e3 / dose * scale
    factors = []
    for t_acq, duration in zip(instants, durations):
        elapsed = (t_acq - inj_instant).total_seconds()
        if elapsed < 0:
            raise SuvError("injection is after the acquisition start")
        x = lam * duration / 1000.0
        factors.append(base * (x / -math.expm1(-x)) * math.exp(lam * elapsed))
    decay_s = (instants[0] - inj_instant).total_seconds()
    formula = (
        f"SUVbw = {prefix}A * W[g]/D * lambda T/(1-e^(-lambda T)) * e^(lambda (t_acq - t_inj)) per frame"
    )
    return SuvResult(
        factors[0],
        tuple(factors),
        decay_s,
        acq[0],
        "per-frame AcquisitionTime (DecayCorrection NONE)",
        t_inj,
        inj_src,
        weight,
        dose,
        half,
        units,
        "NONE",
        formula,
        warnings,
        f"acquisition times: {to_instant(acq[0], own_offset=None, header_offset=offset, site_tz=clock.site_tz)[1]}; "
        f"injection: {inj_rule}",
        activity_factor,
    )
