"""Trial cross-checks of a PET header against the dosing record and the schedule (pure Python, no Django).

Each check returns `CheckFinding`s (code, severity, message, details). Thresholds are the trial's:
injection time 1 minute, activity 2 %, weight 5 %, 89Zr half-life 0.5 %, scan time inside the planned
window (hours after the injection).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from quant.pet.suv import ZR89_HALF_LIFE_S, ZR89_TOLERANCE, SuvHeader, parse_dt, parse_tm

INJECTION_TIME_TOLERANCE_S = 60.0
ACTIVITY_TOLERANCE = 0.02
WEIGHT_TOLERANCE = 0.05


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
    header: SuvHeader, dosed_at_wall: datetime | None, tracer_visit: str
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


def check_weight(header_kg: float | None, recorded_kg: float) -> list[CheckFinding]:
    if not header_kg:
        return [
            CheckFinding(
                "WEIGHT_FROM_RECORD",
                "warning",
                f"PatientWeight is missing in the header; the recorded weight {recorded_kg:.1f} kg is used.",
            )
        ]
    kg = header_kg / 1000.0 if header_kg > 1000 else header_kg
    deviation = (kg - recorded_kg) / recorded_kg
    if abs(deviation) > WEIGHT_TOLERANCE:
        return [
            CheckFinding(
                "WEIGHT_MISMATCH",
                "warning",
                f"PatientWeight {kg:.1f} kg differs {deviation:+.1%} from the recorded weight "
                f"{recorded_kg:.1f} kg (tolerance 5 %); the header weight (day of scan) is used.",
                {"header_kg": kg, "recorded_kg": recorded_kg},
            )
        ]
    return []


def check_window(
    scan_wall: datetime | None,
    dosed_at_wall: datetime | None,
    planned_h: float | None,
    before_h: float,
    after_h: float,
) -> list[CheckFinding]:
    if scan_wall is None or dosed_at_wall is None or planned_h is None:
        return []
    hours = (scan_wall - dosed_at_wall).total_seconds() / 3600.0
    if not (planned_h - before_h <= hours <= planned_h + after_h):
        return [
            CheckFinding(
                "SCAN_OUT_OF_WINDOW",
                "warning",
                f"Scan {hours:.1f} h after injection is outside the planned window {planned_h - before_h:g}-"
                f"{planned_h + after_h:g} h.",
                {"hours_post_injection": hours},
            )
        ]
    return []


def _span(seconds: float) -> str:
    s = abs(seconds)
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"
