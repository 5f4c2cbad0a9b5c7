"""The PK parameters of a participant's curves, as stored (kinetics.PkParameter) and exported (SDTM PP, the
sponsor resource "pk-parameters"): the same quant.pk fits and TIACs the participant page shows, with the
page's defaults (values decay-corrected to injection, model auto). No database access here.

Per injection and curve with at least three time points:
- serum (casebook PK samples, Bq/mL) and every organ and lesion VOI series (SUVmean, g/mL): LAMZHL (terminal
  half-life of the decay-corrected values, i.e. the biological half-life), LAMZ, HLEFF (effective half-life:
  1/T_eff = 1/T_bio + 1/T_phys, 89Zr 78.41 h), HLFAST (the faster phase of a bi-exponential), AUCLST, AUCIFO,
  AUCPEO and R2 of the fitted model;
- every source organ: TIAC (h), trapezoids with the physical-decay tail, and the remainder of the body.
A parameter that cannot be computed (a curve that does not fall) is kept with no value and the reason.
PPTESTCD/PPTEST are CDISC PK Parameters terminology (C85493/C85839) where a term exists; HLEFF, HLFAST and
TIAC are sponsor-defined (SPONSOR_TESTS).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from kinetics.analysis import MIN_FIT_POINTS, SeriesFit, fit_series, tiac_tables
from kinetics.selectors import PK_ORGANS, SERUM_KEY, Point, series
from quant.pk import units
from quant.pk.constants import ZR89_HALF_LIFE_H
from quant.pk.fit import PRE_FIRST_SAMPLE

METHOD_VERSION = "pk-parameters-1"
# test code -> (test name, unit or None for the curve's AUC unit)
TESTS: dict[str, tuple[str, str | None]] = {
    "LAMZHL": ("Half-Life Lambda z", "h"),
    "LAMZ": ("Lambda z", "/h"),
    "HLEFF": ("Effective Half-Life", "h"),
    "HLFAST": ("Half-Life Fast Phase", "h"),
    "AUCLST": ("AUC to Last Nonzero Conc", None),
    "AUCIFO": ("AUC Infinity Obs", None),
    "AUCPEO": ("AUC %Extrapolation Obs", "%"),
    "R2": ("R Squared", ""),
    "TIAC": ("Time-Integrated Activity Coefficient", "h"),
}
SPONSOR_TESTS = ("HLEFF", "HLFAST", "TIAC")
SPECIMENS = {
    SERUM_KEY: "SERUM",
    "blood_pool": "BLOOD",
    "liver": "LIVER",
    "spleen": "SPLEEN",
    "kidney": "KIDNEY",
    "bone_marrow": "BONE MARROW",
    "lung": "LUNG",
    "muscle": "SKELETAL MUSCLE",
    "lesion": "TUMOR TISSUE",
    "remainder": "REMAINDER OF BODY",
}
CATEGORIES = {"serum": "SERUM", "image": "PET IMAGE-DERIVED"}
QUANTITIES = {
    "bq_ml": ("89ZR ACTIVITY CONCENTRATION", "h*Bq/mL"),
    "suv_mean": ("SUVMEAN", "h*g/mL"),
    "tiac": ("TIAC TRAPEZOID + DECAY TAIL", "h"),
}
METHOD_TEXT = (
    "quant.pk on the stored VOI results and serum samples, values decay-corrected to injection; model chosen "
    "by AICc (mono or bi-exponential, fitted on log residuals); AUC by linear-up/log-down trapezoids from the "
    f"fitted intercept at injection ({PRE_FIRST_SAMPLE}), to infinity with C_last/lambda_z; 89Zr physical "
    f"half-life {ZR89_HALF_LIFE_H} h. TIAC: trapezoids of the fraction of injected activity in the organ plus "
    "the physical-decay tail; sphere VOIs scaled to the ICRP 89 reference organ mass of the participant's sex."
)


@dataclass(frozen=True)
class Parameter:
    tracer_visit_code: str
    series_key: str
    series_label: str
    category: str  # serum | image
    quantity: str  # bq_ml | suv_mean | tiac
    specimen: str
    test_code: str
    value: float | None
    unit: str
    model: str
    n_points: int
    not_done_reason: str = ""

    @property
    def test_name(self) -> str:
        return TESTS[self.test_code][0]

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What one stored row stands for: injection, curve, quantity and parameter."""
        return (self.tracer_visit_code, self.series_key, self.quantity, self.test_code)


def inputs_sha256(points: list[Point], sex: str) -> str:
    """SHA-256 of what a curve's parameters are computed from (its points, sex, the method's version)."""
    payload = json.dumps([METHOD_VERSION, sex, [asdict(p) for p in points]], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def digests(points: list[Point], sex: str) -> dict[tuple[str, str], str]:
    """{(tracer visit code, series key): SHA-256 of that curve's inputs}; the remainder of the body's TIAC
    depends on every source organ of the injection."""
    out: dict[tuple[str, str], str] = {}
    for tracer, by_key in series(points).items():
        for key, pts in by_key.items():
            out[(tracer, key)] = inputs_sha256(pts, sex)
        organs = [p for key in PK_ORGANS for p in by_key.get(key, [])]
        out[(tracer, "remainder")] = inputs_sha256(organs, sex)
    return out


def _specimen(fit: SeriesFit) -> str:
    if fit.key.startswith("lesion:"):
        return SPECIMENS["lesion"]
    return SPECIMENS.get(fit.key, fit.key.upper()[:40])


def _fit_parameters(fit: SeriesFit, quantity: str, scale: float) -> list[Parameter]:
    result = fit.result
    if result is None:
        return []
    category = "serum" if fit.key == SERUM_KEY else "image"
    auc_unit = QUANTITIES[quantity][1]
    bio = result.biological_half_life_h
    terminal_rate = result.fit.terminal_rate if result.fit is not None else None
    fast = [h for h in result.half_lives_h if h is not None]
    values: dict[str, tuple[float | None, str]] = {
        "LAMZHL": (bio, "" if bio else "the decay-corrected curve does not fall: no biological clearance"),
        "LAMZ": (terminal_rate, ""),
        "HLEFF": (result.effective_half_life_h, ""),
        "AUCLST": (result.auc_0_last * scale, ""),
        "AUCIFO": (
            None if result.auc_0_inf is None else result.auc_0_inf * scale,
            "" if result.auc_0_inf is not None else "terminal rate not positive: AUC to infinity not finite",
        ),
        "AUCPEO": (result.auc_extrapolated_pct, "" if result.auc_0_inf is not None else "no AUC to infinity"),
        "R2": (result.r2, ""),
    }
    if result.model == "bi" and len(fast) == 2:
        values["HLFAST"] = (min(fast), "")
    out = []
    for code, (value, reason) in values.items():
        unit = TESTS[code][1]
        out.append(
            Parameter(
                tracer_visit_code=fit.tracer_visit_code,
                series_key=fit.key,
                series_label=fit.label,
                category=category,
                quantity=quantity,
                specimen=_specimen(fit),
                test_code=code,
                value=None if value is None else float(value),
                unit=auc_unit if unit is None else unit,
                model=result.model,
                n_points=len(fit.times),
                not_done_reason=reason if value is None else "",
            )
        )
    return out


def compute(points: list[Point], sex: str) -> list[Parameter]:
    """Every parameter of the participant's curves, in a stable order (injection, curve, parameter)."""
    serum = [p for p in points if p.key == SERUM_KEY]
    image = [p for p in points if p.key != SERUM_KEY]
    out: list[Parameter] = []
    # serum in Bq/mL as PC reports it: the kBq/mL curve's AUCs times 1000 (half-lives do not depend on scale)
    for fit in fit_series(serum, "kbq_ml", True, "auto"):
        out += _fit_parameters(fit, "bq_ml", 1000.0)
    for fit in fit_series(image, "suv_mean", True, "auto"):
        out += _fit_parameters(fit, "suv_mean", 1.0)
    for table in tiac_tables(image, sex, "trapezoid"):
        organs = {units.SOURCE_ORGAN_NAMES[k]: k for k in units.SOURCE_ORGAN_NAMES}
        rows = [(organs[r["organ"]], r["organ"], r["tiac_h"], r["n"]) for r in table.rows]
        if table.remainder_h is not None:
            rows.append(("remainder", "Remainder of body", table.remainder_h, 0))
        for key, label, tiac_h, n in rows:
            out.append(
                Parameter(
                    tracer_visit_code=table.tracer_visit_code,
                    series_key=key,
                    series_label=label,
                    category="image",
                    quantity="tiac",
                    specimen=SPECIMENS[key],
                    test_code="TIAC",
                    value=float(tiac_h),
                    unit="h",
                    model=table.method,
                    n_points=int(n),
                )
            )
    return sorted(out, key=lambda p: (p.tracer_visit_code, p.category != "serum", p.series_key, p.quantity))


__all__ = ["MIN_FIT_POINTS", "METHOD_TEXT", "Parameter", "TESTS", "compute", "digests", "inputs_sha256"]
