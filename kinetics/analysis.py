"""Fits and TIACs of the participant's curves (calls quant.pk; no database access here)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from kinetics.selectors import INJECTION_LABELS, PK_ORGANS, Point, series
from quant.pk import units
from quant.pk.constants import LAMBDA_PHYS_PER_H
from quant.pk.errors import PkInputError
from quant.pk.fit import PkResult, analyse
from quant.pk.tiac import METHODS, Tiac, tiac

MIN_FIT_POINTS = 3


@dataclass
class SeriesFit:
    tracer_visit_code: str
    key: str
    label: str
    kind: str
    times: list[float]
    values: list[float]
    result: PkResult | None = None
    error: str = ""

    @property
    def injection_label(self) -> str:
        return INJECTION_LABELS.get(self.tracer_visit_code, self.tracer_visit_code)


def fit_series(points: list[Point], metric: str, corrected: bool, model: str = "auto") -> list[SeriesFit]:
    """One fit per injection and VOI series of the chosen metric and view."""
    fits = []
    for tracer_code, by_key in series(points).items():
        for key, pts in by_key.items():
            pairs = [(p.hours, p.value(metric, corrected)) for p in pts]
            pairs = [(t, v) for t, v in pairs if v is not None]
            fit = SeriesFit(
                tracer_code, key, pts[0].label, pts[0].kind, [t for t, _ in pairs], [v for _, v in pairs]
            )
            if not pairs:
                continue
            if len(pairs) < MIN_FIT_POINTS:
                fit.error = f"{len(pairs)} time point(s): a fit needs {MIN_FIT_POINTS}"
            else:
                try:
                    fit.result = analyse(fit.times, fit.values, model=model, decay_corrected=corrected)
                except PkInputError as exc:
                    fit.error = str(exc)
            fits.append(fit)
    return fits


@dataclass
class TiacTable:
    tracer_visit_code: str
    method: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    remainder_h: float | None = None
    whole_body_h: float = 1.0 / LAMBDA_PHYS_PER_H
    skipped: list[str] = field(default_factory=list)

    @property
    def method_text(self) -> str:
        return (
            f"{METHODS[self.method]}. Organ activity: whole-organ mask VOIs as measured (SUV x volume / weight); "
            "sphere VOIs scaled to the ICRP 89 adult reference organ mass of the participant's sex (density "
            "1 g/mL; blood by its reference volume). Remainder of body = whole-body TIAC with physical decay "
            f"only (no excretion, 1/lambda = {1.0 / LAMBDA_PHYS_PER_H:.2f} h) minus the source organs."
        )


def organ_fraction(point: Point, sex: str) -> tuple[float | None, str]:
    """Decay-corrected fraction of injected activity in the organ, and where the organ amount came from."""
    if point.weight_kg is None:
        return None, ""
    if point.whole_organ:
        return units.pct_id_in_volume(
            point.suv_mean, point.volume_ml, point.weight_kg
        ) / 100.0, "whole-organ VOI"
    amount = units.REFERENCE_AMOUNT.get(sex, units.REFERENCE_AMOUNT["M"])[point.organ]
    return (
        units.pct_id_in_volume(point.suv_mean, amount, point.weight_kg) / 100.0,
        f"ICRP 89 reference {'volume' if point.organ == 'blood_pool' else 'mass'} {amount:g} "
        f"{'mL' if point.organ == 'blood_pool' else 'g'}",
    )


def tiac_tables(points: list[Point], sex: str, method: str = "trapezoid") -> list[TiacTable]:
    tables = []
    for tracer_code, by_key in series(points).items():
        table = TiacTable(tracer_code, method)
        for organ in PK_ORGANS:
            pts = by_key.get(organ)
            if not pts:
                continue
            pairs = [(p.hours, *organ_fraction(p, sex)) for p in pts]
            pairs = [x for x in pairs if x[1] is not None]
            try:
                result: Tiac = tiac(
                    units.SOURCE_ORGAN_NAMES[organ], [x[0] for x in pairs], [x[1] for x in pairs], method
                )
            except PkInputError as exc:
                table.skipped.append(f"{units.SOURCE_ORGAN_NAMES[organ]}: {exc}")
                continue
            table.rows.append(
                {
                    "organ": result.organ,
                    "tiac_h": result.tiac_h,
                    "tail_h": result.tail_h,
                    "n": result.n_points,
                    "source": sorted({x[2] for x in pairs})[0] if pairs else "",
                }
            )
        if table.rows:
            remainder = table.whole_body_h - sum(r["tiac_h"] for r in table.rows)
            table.remainder_h = remainder if remainder > 0 else None
            if remainder <= 0:
                table.skipped.append("Remainder of body: source organs already hold the whole-body TIAC")
        tables.append(table)
    return tables


def tiac_csv(table: TiacTable) -> bytes:
    """'Organ,TIAC (h)': one source organ per line, then the remainder, as dosimetry programs take them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Organ", "TIAC (h)"])
    for row in table.rows:
        writer.writerow([row["organ"], f"{row['tiac_h']:.6g}"])
    if table.remainder_h is not None:
        writer.writerow(["Remainder of body", f"{table.remainder_h:.6g}"])
    return buffer.getvalue().encode()
