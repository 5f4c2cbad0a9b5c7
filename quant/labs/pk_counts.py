"""Serum activity of a tracer PK sample from gamma-counter counts, decay-corrected to the injection.

    net count rate  R = (gross - background) / t_count                      [counts/s]
    activity at counting  A_c = R / efficiency x calibration                 [Bq]
    concentration at counting  C_c = A_c / V                                 [Bq/mL]
    at injection  C_0 = C_c x exp(ln 2 x (t_counted - t_injection) / T1/2)   [Bq/mL]

Decay runs from the start of counting (the sample keeps decaying after it is drawn), and the counting
time is short next to 89Zr's half-life (78.41 h, DDEP/NNDC), so no in-count decay correction is applied.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from quant.errors import QuantError

ZR89_HALF_LIFE_H = 78.41


class PkCountError(QuantError):
    """Counts or times that cannot give an activity."""


@dataclass(frozen=True)
class PkActivity:
    minutes_after_injection: float
    bq_per_ml_at_counting: float
    bq_per_ml_at_injection: float


def serum_activity(
    *,
    injected_at: dt.datetime,
    sampled_at: dt.datetime,
    counted_at: dt.datetime,
    gross_counts: float,
    background_counts: float,
    count_time_s: float,
    efficiency: float,
    calibration: float,
    volume_ml: float,
    half_life_h: float = ZR89_HALF_LIFE_H,
) -> PkActivity:
    """Bq/mL of one serum sample, at counting and decay-corrected to the injection time."""
    if sampled_at < injected_at:
        raise PkCountError("the sample was drawn before the injection")
    if counted_at < sampled_at:
        raise PkCountError("the sample was counted before it was drawn")
    if background_counts > gross_counts:
        raise PkCountError("background counts exceed the gross counts")
    if count_time_s <= 0 or volume_ml <= 0 or not 0 < efficiency <= 1 or calibration <= 0:
        raise PkCountError("counting time, volume, efficiency (0-1] and calibration must be positive")
    rate = (gross_counts - background_counts) / count_time_s
    at_counting = rate / efficiency * calibration / volume_ml
    hours = (counted_at - injected_at).total_seconds() / 3600.0
    at_injection = at_counting * math.exp(math.log(2) * hours / half_life_h)
    minutes = (sampled_at - injected_at).total_seconds() / 60.0
    return PkActivity(minutes, at_counting, at_injection)
