"""Trial cross-checks of a PET header against the dosing record and the schedule (pure Python, no Django).

Each check returns `CheckFinding`s (code, severity, message, details). Warning thresholds are the trial's:
injection time 1 minute, activity 2 %, weight 5 %, 89Zr half-life 0.5 %, scan time inside the planned
window (hours after the injection). Beyond the `BlockLimits` (injection date 1 day, weight 20 %, window
+ 12 h) the finding is an error that blocks the upload: another participant's series or an impossible one.
`header_contradictions` applies the same limits to values given on the `pet_suv` command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from quant.pet.suv import ZR89_HALF_LIFE_S, ZR89_TOLERANCE, SuvHeader, parse_dt, parse_tm

INJECTION_TIME_TOLERANCE_S = 60.0
ACTIVITY_TOLERANCE = 0.02
WEIGHT_TOLERANCE = 0.05
BLOCK_INJECTION_DAYS = 1.0
BLOCK_WINDOW_TOLERANCE_H = 12.0
BLOCK_WEIGHT_PCT = 20.0
# Error findings an authorised reviewer may override (the header may be right and the record wrong).
OVERRIDABLE_CODES = frozenset(
    {
        "INJECTION_DATE_MISMATCH",
        "SCAN_FAR_OUTSIDE_WINDOW",
        "WEIGHT_CONTRADICTS_RECORD",
        "ACTIVITY_IMPLAUSIBLE",
    }
)


@dataclass(frozen=True)
class BlockLimits:
    """Beyond these a header/record disagreement blocks the upload instead of warning."""

    injection_days: float = BLOCK_INJECTION_DAYS
    window_tolerance_h: float = BLOCK_WINDOW_TOLERANCE_H
    weight_pct: float = BLOCK_WEIGHT_PCT


@dataclass(frozen=True)
class CheckFinding:
    code: str
    severity: str  # info | warning | error
    message: str
    details: dict = field(default_factory=dict)


def check_half_life(header: SuvHeader) -> list[CheckFinding]:
    half = header.half_life_s
    if not half:
        return [
            CheckFinding(
                "HALF_LIFE_MISSING", "error", "RadionuclideHalfLife is missing: cannot confirm 89Zr."
            )
        ]
    deviation = abs(half - ZR89_HALF_LIFE_S) / ZR89_HALF_LIFE_S
    if deviation > ZR89_TOLERANCE:
        return [
            CheckFinding(
                "HALF_LIFE_NOT_ZR89",
                "error",
                f"RadionuclideHalfLife {half:g} s differs {deviation:.1%} from 89Zr (282,276 s = 78.41 h; "
                "tolerance 0.5 %): SUV would be decay-corrected with the wrong half-life.",
                {"header_s": half, "expected_s": ZR89_HALF_LIFE_S},
            )
        ]
    return []


def check_injection(
    header: SuvHeader, dosed_at_wall: datetime | None, tracer_visit: str, limits: BlockLimits = BlockLimits()
) -> list[CheckFinding]:
    """Header injection date-time (or time of day) against the dosing record's wall-clock time."""
    if dosed_at_wall is None:
        return [
            CheckFinding(
                "NO_DOSING_RECORD",
                "warning",
                f"No tracer administration is recorded for {tracer_visit}: the header's injection time and "
                "activity are used unchecked.",
            )
        ]
    header_dt = parse_dt(header.rp_start_datetime)
    if header_dt is not None:
        diff = (header_dt - dosed_at_wall).total_seconds()
        if abs(diff) > limits.injection_days * 86400.0:
            return [_injection_block(header_dt, dosed_at_wall, tracer_visit, diff, limits)]
        if abs(diff) > INJECTION_TIME_TOLERANCE_S:
            return [
                CheckFinding(
                    "INJECTION_TIME_MISMATCH",
                    "warning",
                    f"Injection time in the header ({header_dt:%Y-%m-%d %H:%M:%S}) differs from the dosing "
                    f"record ({dosed_at_wall:%Y-%m-%d %H:%M:%S}) by {_span(diff)}; the dosing record is used.",
                    {"header": header_dt.replace(tzinfo=None).isoformat(), "difference_s": diff},
                )
            ]
        return []
    time_only = parse_tm(header.rp_start_time)
    findings = [
        CheckFinding(
            "INJECTION_DATE_FROM_DOSING",
            "info",
            "The header gives the injection time without a date; the date-time of the dosing record "
            f"({dosed_at_wall:%Y-%m-%d %H:%M}) is used (89Zr is scanned days after injection).",
        )
    ]
    if time_only is not None:
        of_day = timedelta(
            hours=dosed_at_wall.hour, minutes=dosed_at_wall.minute, seconds=dosed_at_wall.second
        )
        diff = (time_only - of_day).total_seconds()
        diff = (diff + 43200) % 86400 - 43200
        if abs(diff) > INJECTION_TIME_TOLERANCE_S:
            findings.append(
                CheckFinding(
                    "INJECTION_TIME_MISMATCH",
                    "warning",
                    f"Injection time of day in the header differs from the dosing record by {_span(diff)}.",
                    {"difference_s": diff},
                )
            )
    return findings


def _injection_block(
    header_dt: datetime, dosed: datetime, tracer_visit: str, diff: float, limits: BlockLimits
) -> CheckFinding:
    return CheckFinding(
        "INJECTION_DATE_MISMATCH",
        "error",
        f"RadiopharmaceuticalStartDateTime {header_dt:%Y-%m-%d %H:%M} differs from the dosing record of "
        f"{tracer_visit} ({dosed:%Y-%m-%d %H:%M}) by {abs(diff) / 86400:.1f} days "
        f"(limit {limits.injection_days:g} day{'s' if limits.injection_days != 1 else ''}).",
        {"header": header_dt.replace(tzinfo=None).isoformat(), "difference_s": diff},
    )


def check_activity(header_bq: float | None, dosed_mbq: float | None) -> list[CheckFinding]:
    if dosed_mbq is None or not header_bq:
        return []
    header_mbq = header_bq / 1e6 if header_bq >= 1e4 else header_bq
    deviation = (header_mbq - dosed_mbq) / dosed_mbq
    if abs(deviation) > ACTIVITY_TOLERANCE:
        return [
            CheckFinding(
                "ACTIVITY_MISMATCH",
                "warning",
                f"Injected activity in the header ({header_mbq:.2f} MBq) differs {deviation:+.1%} from the "
                f"dosing record ({dosed_mbq:.2f} MBq net; tolerance 2 %); the dosing record is used.",
                {"header_mbq": header_mbq, "dosed_mbq": dosed_mbq},
            )
        ]
    return []


def header_kg(value: float | None) -> float | None:
    """PatientWeight in kg (a value above 1000 was written in grams); None when missing or 0."""
    if not value:
        return None
    return value / 1000.0 if value > 1000 else value


def check_weight(
    header_weight: float | None,
    recorded_kg: float,
    recorded_label: str = "",
    limits: BlockLimits = BlockLimits(),
) -> list[CheckFinding]:
    """Header PatientWeight against the latest recorded weight (`recorded_label` says where it was recorded)."""
    kg = header_kg(header_weight)
    if kg is None:
        return [
            CheckFinding(
                "WEIGHT_FROM_RECORD",
                "warning",
                f"PatientWeight is missing in the header; the recorded weight {recorded_kg:.1f} kg is used.",
            )
        ]
    deviation = (kg - recorded_kg) / recorded_kg
    details = {"header_kg": kg, "recorded_kg": recorded_kg}
    where = f" ({recorded_label})" if recorded_label else ""
    if abs(deviation) * 100.0 > limits.weight_pct:
        return [
            CheckFinding(
                "WEIGHT_CONTRADICTS_RECORD",
                "error",
                f"PatientWeight {kg:.1f} kg differs from the recorded weight {recorded_kg:.1f} kg{where} by "
                f"{abs(deviation) * 100:.0f} % (limit {limits.weight_pct:g} %).",
                details,
            )
        ]
    if abs(deviation) > WEIGHT_TOLERANCE:
        return [
            CheckFinding(
                "WEIGHT_MISMATCH",
                "warning",
                f"PatientWeight {kg:.1f} kg differs {deviation:+.1%} from the recorded weight "
                f"{recorded_kg:.1f} kg{where} (tolerance 5 %); the header weight (day of scan) is used.",
                details,
            )
        ]
    return []


def check_window(
    scan_wall: datetime | None,
    dosed_at_wall: datetime | None,
    planned_h: float | None,
    before_h: float,
    after_h: float,
    limits: BlockLimits = BlockLimits(),
) -> list[CheckFinding]:
    """Hours from injection to scan against the planned window; beyond it by more than the tolerance blocks."""
    if scan_wall is None or dosed_at_wall is None or planned_h is None:
        return []
    hours = (scan_wall - dosed_at_wall).total_seconds() / 3600.0
    low, high = planned_h - before_h, planned_h + after_h
    outside = max(low - hours, hours - high, 0.0)
    if outside > limits.window_tolerance_h:
        return [
            CheckFinding(
                "SCAN_FAR_OUTSIDE_WINDOW",
                "error",
                f"Scan time {hours:.1f} h after the recorded injection is {outside:.1f} h outside the planned "
                f"window {low:g}-{high:g} h of this PET time point (limit {limits.window_tolerance_h:g} h).",
                {"hours_post_injection": hours, "outside_h": outside},
            )
        ]
    if outside > 0:
        return [
            CheckFinding(
                "SCAN_OUT_OF_WINDOW",
                "warning",
                f"Scan {hours:.1f} h after injection is outside the planned window {low:g}-{high:g} h.",
                {"hours_post_injection": hours},
            )
        ]
    return []


def header_contradictions(
    header: SuvHeader,
    *,
    weight_kg: float | None,
    injection: datetime | None,
    limits: BlockLimits = BlockLimits(),
) -> list[str]:
    """Given values that contradict a value present in the header beyond the block limits (one phrase each)."""
    out = []
    kg = header_kg(header.patient_weight_kg)
    if weight_kg is not None and kg is not None and weight_kg > 0:
        deviation = abs(weight_kg - kg) / kg * 100.0
        if deviation > limits.weight_pct:
            out.append(
                f"--weight-kg {weight_kg:g} contradicts the header PatientWeight {kg:g} kg by {deviation:.0f} % "
                f"(limit {limits.weight_pct:g} %)"
            )
    header_dt = parse_dt(header.rp_start_datetime)
    if injection is not None and header_dt is not None:
        days = abs((injection - header_dt).total_seconds()) / 86400.0
        if days > limits.injection_days:
            out.append(
                f"--injection-time {injection:%Y-%m-%d %H:%M} contradicts the header RadiopharmaceuticalStart"
                f"DateTime {header_dt:%Y-%m-%d %H:%M} by {days:.1f} days (limit {limits.injection_days:g} day)"
            )
    return out


def _span(seconds: float) -> str:
    s = abs(seconds)
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"
