"""DCE-MRI quantification: SPGR signal to concentration and single-curve tracer-kinetic fits.

Units at the API (OSIPI conventions): time in s, concentrations in mM, Ktrans and PS in /min,
Fp in ml/100ml/min, ve and vp as fractions, delay in s. Forward models: quant.mri.dce_models;
voxel-wise maps: quant.mri.dce_voxelwise; semi-quantitative parameters: quant.mri.dce_semiquant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from quant.errors import QuantInputError
from quant.mri.aif import shift_aif
from quant.mri.dce_models import extended_tofts, tofts, two_cxm, two_cxm_ktrans
from quant.mri.dce_semiquant import semi_quantitative  # noqa: F401  (re-export)
from quant.mri.dce_voxelwise import fit_extended_tofts_voxelwise, murase_lls  # noqa: F401

FloatArray = NDArray[np.float64]

MODELS = ("tofts", "extended_tofts", "2cxm")
OUTPUT_KEYS = ("Ktrans_per_min", "ve", "vp", "Fp_ml_100ml_min", "PS_per_min", "delay_s")

DEFINITIONS = {
    "tofts": "Ct(t) = Ktrans * integral Cp(u) exp(-kep (t-u)) du, kep = Ktrans/ve (Tofts 1999)",
    "extended_tofts": "Ct(t) = vp Cp(t) + Ktrans * integral Cp(u) exp(-kep (t-u)) du, kep = Ktrans/ve",
    "2cxm": (
        "two-compartment exchange (Sourbron and Buckley 2011): bi-exponential impulse response from "
        "Fp, PS, vp, ve; Ktrans = E Fp with E = PS/(PS+Fp) (Fp converted to /min)"
    ),
    "convolution": "Cp piecewise linear between samples, convolved analytically with exponentials",
    "delay": "delay_s shifts the AIF later in time: Cp_used(t) = Cp(t - delay_s)",
}


# --------------------------------------------------------------------------- signal -> concentration
def spgr_signal(m0: ArrayLike, r1_per_s: ArrayLike, tr_s: float, flip_deg: float) -> FloatArray:
    """Steady-state spoiled gradient echo signal S = M0 sin(a) (1-E1)/(1-cos(a) E1)."""
    a = np.deg2rad(flip_deg)
    e1 = np.exp(-tr_s * np.asarray(r1_per_s, dtype=float))
    return np.asarray(m0, dtype=float) * np.sin(a) * (1 - e1) / (1 - np.cos(a) * e1)


def spgr_signal_to_concentration(
    signal: ArrayLike,
    *,
    t10_s: ArrayLike,
    r1_per_mM_s: float,
    tr_s: float,
    flip_deg: float,
    n_baseline: int,
) -> FloatArray:
    """Convert SPGR signal (..., T) to concentration (mM) using the mean of the first n_baseline frames.

    M0 follows from the baseline signal and T10; each frame's R1 from inverting the SPGR equation;
    C = (R1 - R10) / r1.
    """
    s = np.asarray(signal, dtype=float)
    t10 = np.asarray(t10_s, dtype=float)
    _check_spgr_options(s, t10, r1_per_mM_s, tr_s, flip_deg, n_baseline)
    a = np.deg2rad(flip_deg)
    r10 = 1.0 / t10
    e10 = np.exp(-tr_s * r10)
    s0 = s[..., :n_baseline].mean(axis=-1)
    m0 = s0 * (1 - np.cos(a) * e10) / (np.sin(a) * (1 - e10))
    q = s / (m0[..., None] * np.sin(a))
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = (1 - q) / (1 - q * np.cos(a))
    if np.any(~(e1 > 0) | ~(e1 < 1)):
        raise QuantInputError(
            "signal outside the SPGR range (above the fully relaxed signal or non-positive)"
        )
    r1 = -np.log(e1) / tr_s
    return (r1 - np.asarray(r10)[..., None]) / r1_per_mM_s


def _check_spgr_options(
    s: FloatArray, t10: FloatArray, r1: float, tr_s: float, flip_deg: float, n_baseline: int
) -> None:
    if s.ndim < 1 or s.shape[-1] <= n_baseline:
        raise QuantInputError("signal needs more frames than the baseline count")
    if n_baseline < 1:
        raise QuantInputError("n_baseline must be at least 1")
    if np.any(t10 <= 0) or r1 <= 0 or tr_s <= 0:
        raise QuantInputError("T10, r1 and TR must be positive")
    if not 0 < flip_deg < 180:
        raise QuantInputError(f"flip angle must be in (0, 180) degrees, got {flip_deg}")
    if not np.all(np.isfinite(s)):
        raise QuantInputError("signal contains non-finite values")


# --------------------------------------------------------------------------- single-curve fits
@dataclass(frozen=True)
class ModelSpec:
    """Parameter names, bounds, starting points and forward function of one kinetic model."""

    names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    starts: tuple[tuple[float, ...], ...]
    forward: Callable[..., FloatArray]


SPECS = {
    "tofts": ModelSpec(
        ("Ktrans_per_min", "ve"), (0.0, 1e-3), (5.0, 1.0), ((0.1, 0.3), (0.5, 0.5), (0.02, 0.1)), tofts
    ),
    "extended_tofts": ModelSpec(
        ("Ktrans_per_min", "ve", "vp"),
        (0.0, 1e-3, 0.0),
        (5.0, 1.0, 1.0),
        ((0.1, 0.3, 0.02), (0.5, 0.5, 0.1), (0.02, 0.1, 0.01)),
        extended_tofts,
    ),
    "2cxm": ModelSpec(
        ("Fp_ml_100ml_min", "PS_per_min", "ve", "vp"),
        (0.1, 1e-4, 1e-3, 1e-3),
        (300.0, 5.0, 1.0, 1.0),
        tuple(
            (fp, ps, ve, vp) for fp in (10.0, 40.0, 100.0) for ps in (0.03, 0.2) for ve, vp in ((0.2, 0.05),)
        ),
        two_cxm,
    ),
}


@dataclass
class DCEFitResult:
    """Outcome of one curve fit; params uses OUTPUT_KEYS names (None where the model has none)."""

    model: str
    params: dict[str, float | None]
    residual_rms_mM: float
    success: bool
    definitions: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, **self.params, "residual_rms_mM": self.residual_rms_mM}


def _validate_curve(
    t_s: ArrayLike, ct: ArrayLike, cp: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    t = np.asarray(t_s, dtype=float)
    c = np.asarray(ct, dtype=float)
    a = np.asarray(cp, dtype=float)
    if t.ndim != 1 or t.size < 4:
        raise QuantInputError("need at least 4 time points")
    if c.shape != t.shape or a.shape != t.shape:
        raise QuantInputError(f"t_s, ct and cp must have the same length (got {t.size}, {c.size}, {a.size})")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(c)) and np.all(np.isfinite(a))):
        raise QuantInputError("t_s, ct and cp must be finite numbers")
    if np.any(np.diff(t) <= 0):
        raise QuantInputError("t_s must be strictly increasing")
    if np.max(np.abs(a)) == 0:
        raise QuantInputError("the AIF is zero everywhere")
    return t, c, a


def _least_squares(spec: ModelSpec, t_min: FloatArray, ct: FloatArray, cp: FloatArray, x0: FloatArray):
    scale = np.maximum(np.abs(x0), np.array(spec.upper) * 1e-3)
    x0 = np.clip(x0, spec.lower, spec.upper)
    return least_squares(
        lambda p: spec.forward(t_min, cp, *p) - ct,
        x0,
        bounds=(spec.lower, spec.upper),
        x_scale=scale,
        method="trf",
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
        max_nfev=2000,
    )


def _starts(model: str, t_min: FloatArray, ct: FloatArray, cp: FloatArray) -> list[FloatArray]:
    spec = SPECS[model]
    starts = [np.array(s, dtype=float) for s in spec.starts]
    if model != "2cxm":
        lls = murase_lls(t_min, ct[None, :], cp, extended=model == "extended_tofts")[0]
        starts.insert(0, lls[: len(spec.names)])
    return starts


def _fit_fixed_delay(model: str, t_min: FloatArray, ct: FloatArray, cp: FloatArray, starts: list[FloatArray]):
    best = None
    for x0 in starts:
        res = _least_squares(SPECS[model], t_min, ct, cp, x0)
        if best is None or res.cost < best.cost:
            best = res
    return best


def _fit_with_delay(
    model: str, t_s: FloatArray, ct: FloatArray, cp: FloatArray, bounds_s: tuple[float, float]
) -> tuple[Any, float]:
    """Profile the delay on a grid (warm-started fits), then refine delay and parameters jointly."""
    spec, t_min = SPECS[model], t_s / 60.0
    step = max(min(float(np.median(np.diff(t_s))), 1.0), 0.25)
    grid = np.arange(bounds_s[0], bounds_s[1] + step / 2, step)
    start_cp = shift_aif(t_s, cp, float(grid[0]))
    res = _fit_fixed_delay(model, t_min, ct, start_cp, _starts(model, t_min, ct, start_cp))
    best, best_d, x = res, float(grid[0]), res.x
    for d in grid[1:]:
        r = _least_squares(spec, t_min, ct, shift_aif(t_s, cp, float(d)), x)
        x = r.x
        if r.cost < best.cost:
            best, best_d = r, float(d)
    joint = ModelSpec(
        spec.names + ("delay_s",),
        spec.lower + (bounds_s[0],),
        spec.upper + (bounds_s[1],),
        (),
        lambda tm, c, *p: spec.forward(tm, shift_aif(t_s, c, p[-1]), *p[:-1]),
    )
    refined = _least_squares(joint, t_min, ct, cp, np.r_[best.x, best_d])
    if refined.cost <= best.cost:
        return refined, float(refined.x[-1])
    return best, best_d


def fit_dce_curve(
    t_s: ArrayLike,
    ct_mM: ArrayLike,
    cp_mM: ArrayLike,
    model: str,
    *,
    fit_delay: bool = False,
    delay_s: float = 0.0,
    delay_bounds_s: tuple[float, float] = (0.0, 20.0),
) -> DCEFitResult:
    """Fit one tissue curve with a plasma AIF. model: 'tofts', 'extended_tofts' or '2cxm'."""
    if model not in SPECS:
        raise QuantInputError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    t, ct, cp = _validate_curve(t_s, ct_mM, cp_mM)
    if fit_delay:
        if not bounds_ok(delay_bounds_s):
            raise QuantInputError("delay bounds must be (low, high) with low < high")
        res, d = _fit_with_delay(model, t, ct, cp, delay_bounds_s)
        values = res.x[:-1] if res.x.size > len(SPECS[model].names) else res.x
    else:
        cp_used = shift_aif(t, cp, delay_s)
        res = _fit_fixed_delay(model, t / 60.0, ct, cp_used, _starts(model, t / 60.0, ct, cp_used))
        d, values = delay_s, res.x
    params = _named_params(model, values, d)
    rms = float(np.sqrt(2 * res.cost / ct.size))
    defs = {k: DEFINITIONS[k] for k in (model, "convolution", "delay")}
    return DCEFitResult(model, params, rms, bool(res.success), defs)


def bounds_ok(b: tuple[float, float]) -> bool:
    return len(b) == 2 and np.isfinite(b[0]) and np.isfinite(b[1]) and b[0] < b[1]


def _named_params(model: str, values: FloatArray, delay: float) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(OUTPUT_KEYS)
    out.update({n: float(v) for n, v in zip(SPECS[model].names, values)})
    if model == "2cxm":
        out["Ktrans_per_min"] = two_cxm_ktrans(out["Fp_ml_100ml_min"], out["PS_per_min"])
    out["delay_s"] = float(delay)
    return out
