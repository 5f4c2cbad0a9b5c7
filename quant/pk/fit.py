"""One PK analysis of a curve: the fit, half-lives, AUC to the last sample and to infinity, r2, warnings.

Conventions (also written into ``warnings`` so every output names them):
- Half-lives and AUCs are those of the values as given. With ``decay_corrected=True`` the values are
  decay-corrected to injection, so the fitted terminal half-life is biological and the effective one is
  1/T_eff = 1/T_bio + 1/T_phys (89Zr T_phys = 78.41 h). With ``False`` the fitted half-life is the effective
  one and 1/T_bio = 1/T_eff - 1/T_phys. For a bi-exponential both are the terminal (slower) phase's.
- Before the first sample: the fitted intercept C(0) is joined to the first sample by the same
  linear-up/log-down rule (no segment when the first sample is at t = 0).
- AUC(0-inf) = AUC(0-last) + C_last,observed / lambda_z with lambda_z the fitted terminal rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from quant.pk.auc import auc_linear_up_log_down, segment_area
from quant.pk.constants import LAMBDA_PHYS_PER_H, ZR89_HALF_LIFE_H
from quant.pk.curves import ExpFit, choose, degenerate_bi, fit_bi, fit_mono, r_squared, validate
from quant.pk.errors import PkInputError

MODELS = ("mono", "bi", "auto")
PRE_FIRST_SAMPLE = "fitted_intercept"
EXTRAPOLATED_WARN_PCT = 20.0
R2_WARN = 0.90
JSON_KEYS = (
    "model",
    "half_lives_h",
    "effective_half_life_h",
    "biological_half_life_h",
    "auc_0_last",
    "auc_0_inf",
    "auc_extrapolated_pct",
    "r2",
    "warnings",
)


@dataclass
class PkResult:
    model: str
    half_lives_h: list[float | None]
    effective_half_life_h: float | None
    biological_half_life_h: float | None
    auc_0_last: float
    auc_0_inf: float | None
    auc_extrapolated_pct: float | None
    r2: float
    warnings: list[str] = field(default_factory=list)
    fit: ExpFit | None = None
    decay_corrected: bool = True
    choice_reason: str = ""
    auc_0_first: float = 0.0

    def as_json(self) -> dict:
        """Exactly the keys of the ``pk_fit --json`` contract."""
        return {key: getattr(self, key) for key in JSON_KEYS}


def _half_life(rate: float) -> float | None:
    return math.log(2.0) / rate if rate > 0 else None


def _half_lives(terminal_rate: float, decay_corrected: bool, warnings: list[str]) -> tuple:
    """(effective, biological) half-lives in hours of the terminal phase."""
    if decay_corrected:
        bio_rate, eff_rate = terminal_rate, terminal_rate + LAMBDA_PHYS_PER_H
        if bio_rate <= 0:
            warnings.append(
                "no biological clearance: the decay-corrected curve does not fall (terminal rate "
                f"{terminal_rate:.4g} per h), so there is no biological half-life"
            )
    else:
        eff_rate, bio_rate = terminal_rate, terminal_rate - LAMBDA_PHYS_PER_H
        if bio_rate <= 0:
            warnings.append(
                "the uncorrected curve falls no faster than 89Zr decay: no net biological clearance, "
                "so there is no biological half-life"
            )
    return _half_life(eff_rate), _half_life(bio_rate)


def analyse(
    times_h: Sequence[float], values: Sequence[float], *, model: str = "auto", decay_corrected: bool = True
) -> PkResult:
    """Fit, half-lives and AUCs of one curve (hours after injection, one unit)."""
    if model not in MODELS:
        raise PkInputError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    t, y = validate(times_h, values)
    if model == "mono":
        fit, reason = fit_mono(t, y), "model mono as requested"
    elif model == "bi":
        fit, reason = fit_bi(t, y), "model bi as requested"
    else:
        fit, reason = choose(t, y)
    warnings: list[str] = [reason]
    if fit.model == "bi" and (why := degenerate_bi(fit)) is not None:
        warnings.append(f"bi-exponential fit is degenerate: {why}")
    c0 = fit.intercept
    auc_first = segment_area(0.0, c0, float(t[0]), float(y[0])) if t[0] > 0 else 0.0
    warnings.append(
        f"before the first sample ({t[0]:g} h): fitted intercept C(0) = {c0:.6g} joined by linear-up/log-down "
        f"(convention {PRE_FIRST_SAMPLE}; {auc_first:.6g} of the AUC)"
    )
    auc_last = auc_first + auc_linear_up_log_down(t, y)
    k = fit.terminal_rate
    if k > 0:
        tail = float(y[-1]) / k
        auc_inf: float | None = auc_last + tail
        extrapolated: float | None = 100.0 * tail / auc_inf
        if extrapolated > EXTRAPOLATED_WARN_PCT:
            warnings.append(
                f"{extrapolated:.1f} % of AUC(0-inf) is extrapolated (> {EXTRAPOLATED_WARN_PCT:g} %): "
                "sample later for a reliable AUC(0-inf)"
            )
    else:
        auc_inf, extrapolated = None, None
        warnings.append(
            f"terminal rate {k:.4g} per h is not positive: AUC(0-inf) of these values is not finite"
        )
    effective, biological = _half_lives(k, decay_corrected, warnings)
    r2 = r_squared(y, fit.predict(t))
    if r2 < R2_WARN:
        warnings.append(f"poor fit: r2 = {r2:.3f} < {R2_WARN}")
    warnings.append(
        f"values {'decay-corrected to injection' if decay_corrected else 'not decay-corrected'}; "
        f"89Zr physical half-life {ZR89_HALF_LIFE_H} h"
    )
    return PkResult(
        model=fit.model,
        half_lives_h=fit.half_lives_h(),
        effective_half_life_h=effective,
        biological_half_life_h=biological,
        auc_0_last=auc_last,
        auc_0_inf=auc_inf,
        auc_extrapolated_pct=extrapolated,
        r2=r2,
        warnings=warnings,
        fit=fit,
        decay_corrected=decay_corrected,
        choice_reason=reason,
        auc_0_first=auc_first,
    )


def curve_points(fit: ExpFit, t_max: float, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Dense (t, C(t)) of a fitted curve from injection to t_max, for plots."""
    grid = np.linspace(0.0, max(t_max, 1e-6), n)
    return grid, fit.predict(grid)
