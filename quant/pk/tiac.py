"""Time-integrated activity coefficients (TIAC, 'residence times', hours) per source organ.

Input per organ: hours after injection and the fraction of injected activity in the organ, decay-corrected
to injection (f(t), e.g. %ID / 100). The activity actually present is a(t) = f(t) exp(-lambda_phys t), and
TIAC = integral over 0..inf of a(t) dt (MIRD Pamphlet 21: a~ = A~ / A0). Two methods, recorded with the result:

- ``trapezoid``: linear trapezoids of a(t), zero at injection, plus the physical-decay tail after the last
  sample a(t_last) / lambda_phys (no biological clearance assumed after the last sample: conservative).
- ``mono_fit``: f(t) = A exp(-k t) fitted (log-linear, k may be negative for accumulating organs), integrated
  analytically with decay: TIAC = A / (k + lambda_phys); refused if k + lambda_phys <= 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from quant.pk.constants import LAMBDA_PHYS_PER_H, ZR89_HALF_LIFE_H
from quant.pk.curves import fit_mono, validate
from quant.pk.errors import PkInputError

METHODS = {
    "trapezoid": (
        "linear trapezoids of the decay-uncorrected fraction a(t) = f(t) exp(-lambda t), zero at injection, "
        f"plus the physical-decay tail a(t_last) / lambda after the last sample (89Zr T1/2 = {ZR89_HALF_LIFE_H} h)"
    ),
    "mono_fit": (
        "mono-exponential fit of the decay-corrected fraction f(t) = A exp(-k t), integrated with 89Zr decay: "
        f"TIAC = A / (k + lambda), lambda = ln2 / {ZR89_HALF_LIFE_H} h"
    ),
}


@dataclass(frozen=True)
class Tiac:
    organ: str
    tiac_h: float
    method: str
    n_points: int
    tail_h: float

    @property
    def method_text(self) -> str:
        return METHODS[self.method]


def tiac(organ: str, times_h: Sequence[float], fractions: Sequence[float], method: str = "trapezoid") -> Tiac:
    """TIAC in hours of one source organ from decay-corrected fractions of injected activity."""
    if method not in METHODS:
        raise PkInputError(f"unknown TIAC method {method!r}: choose one of {', '.join(METHODS)}")
    t, f = validate(times_h, fractions)
    if np.any(f > 1.0):
        raise PkInputError("fractions of injected activity must be <= 1 (give %ID / 100)")
    lam = LAMBDA_PHYS_PER_H
    if method == "mono_fit":
        fit = fit_mono(t, f)
        (amplitude,), (rate,) = fit.amplitudes, fit.rates_per_h
        if rate + lam <= 0:
            raise PkInputError(
                f"{organ}: the fitted uptake rises faster than 89Zr decays; TIAC is not finite"
            )
        total = amplitude / (rate + lam)
        tail = amplitude * math.exp(-(rate + lam) * float(t[-1])) / (rate + lam)
        return Tiac(organ, total, method, len(t), tail)
    a = f * np.exp(-lam * t)
    ts = np.concatenate(([0.0], t)) if t[0] > 0 else t
    as_ = np.concatenate(([0.0], a)) if t[0] > 0 else a
    area = float(np.sum(0.5 * (as_[1:] + as_[:-1]) * np.diff(ts)))
    tail = float(a[-1]) / lam
    return Tiac(organ, area + tail, method, len(t), tail)
