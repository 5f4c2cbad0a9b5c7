"""Range and consistency rules for IHC values (no Django); services turn the errors into ValidationError.

CPS (combined positive score, PD-L1 22C3 guide) = (PD-L1 positive tumour cells + positive lymphocytes
+ positive macrophages) / viable tumour cells x 100, capped at 100. When counts are entered at least
100 viable tumour cells are required and CPS/TPS are computed from them; a TPS or CPS the pathologist typed
is kept beside the computed one (`tps_entered`, `cps_entered`) and a difference of more than 0.5 is flagged
(`pdl1_discrepancy`), never silently replaced. H-score is 0-300.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MIN_VIABLE_TUMOUR_CELLS = 100
CPS_CAP = 100.0
AGREEMENT_TOLERANCE = 0.5
COUNT_FIELDS = (
    "pdl1_pos_tumour_cells",
    "pdl1_pos_lymphocytes",
    "pdl1_pos_macrophages",
    "viable_tumour_cells",
)
# Structured fields of an IhcScore and the kind of value each holds.
FIELD_KINDS: dict[str, str] = {
    "density_intratumoural": "density",
    "density_stromal": "density",
    "percent_positive": "percent",
    "semi_quant": "semiquant",
    "immune_phenotype": "category",
    "tps": "percent",
    "cps": "cps",
    "h_score": "hscore",
    "value": "typed",
    "value_category": "category",
}
VALUE_TYPES = ("percent", "density", "score", "category", "hscore")
SEMI_QUANT_LEVELS = (0, 1, 2, 3)
FIELD_LABELS = {
    "density_intratumoural": "Intratumoural density",
    "density_stromal": "Stromal density",
    "percent_positive": "Percentage of positive cells",
    "semi_quant": "Semi-quantitative score",
    "immune_phenotype": "Immune phenotype",
    "tps": "Tumour proportion score",
    "cps": "Combined positive score",
    "h_score": "H-score",
    "value": "Value",
    "value_category": "Category",
}


@dataclass(frozen=True)
class MarkerSpec:
    code: str
    value_type: str
    fields: tuple[str, ...]
    min_value: float | None = None
    max_value: float | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)


def _range_for(spec: MarkerSpec, kind: str) -> tuple[float | None, float | None, str]:
    """(min, max, unit text) of a value kind; percentages 0-100 and H-score 0-300 are fixed."""
    if kind == "percent":
        return 0.0, 100.0, "%"
    if kind == "hscore":
        return 0.0, 300.0, ""
    if kind == "cps":
        return 0.0, CPS_CAP, ""
    if kind == "density":
        low = 0.0 if spec.min_value is None else max(0.0, spec.min_value)
        return low, spec.max_value, " cells/mm²"
    return spec.min_value, spec.max_value, ""


def _check_number(name: str, value: float, low: float | None, high: float | None, unit: str) -> str | None:
    label = FIELD_LABELS.get(name, name)
    if low is not None and value < low:
        return f"{label} must be at least {low:g}{unit}; {value:g} was entered."
    if high is not None and value > high:
        return f"{label} must be at most {high:g}{unit}; {value:g} was entered."
    return None


def _typed_kind(spec: MarkerSpec) -> str:
    return {"percent": "percent", "density": "density", "hscore": "hscore", "score": "score"}.get(
        spec.value_type, "category"
    )


def _check_field(spec: MarkerSpec, name: str, value: Any) -> str | None:
    kind = FIELD_KINDS[name]
    if kind == "typed":
        kind = _typed_kind(spec)
        if kind == "category":
            return f"{spec.code} takes a category, not a number."
    if kind == "semiquant":
        if value not in SEMI_QUANT_LEVELS:
            return "Semi-quantitative score must be 0, 1+, 2+ or 3+."
        return None
    if kind == "category":
        if spec.categories and value not in spec.categories:
            return f"{FIELD_LABELS[name]} must be one of: {', '.join(spec.categories)}."
        return None
    if kind == "score" and float(value) != int(float(value)):
        return f"{spec.code} score must be a whole number."
    low, high, unit = _range_for(spec, kind)
    return _check_number(name, float(value), low, high, unit)


def _counts_rules(values: dict[str, Any], errors: dict[str, str], cleaned: dict[str, Any]) -> None:
    """Validate PD-L1 counts and derive CPS and TPS from them."""
    counts = {k: values.get(k) for k in COUNT_FIELDS}
    if all(v is None for v in counts.values()):
        return
    missing = [k for k, v in counts.items() if v is None]
    if missing:
        errors[missing[0]] = (
            "Enter all four PD-L1 counts (positive tumour cells, lymphocytes, macrophages and viable "
            "tumour cells) or none."
        )
        return
    for k, v in counts.items():
        if int(v) != v or v < 0:
            errors[k] = "Counts are whole numbers of cells, zero or more."
    if errors:
        return
    viable = int(counts["viable_tumour_cells"])
    if viable < MIN_VIABLE_TUMOUR_CELLS:
        errors["viable_tumour_cells"] = (
            f"At least {MIN_VIABLE_TUMOUR_CELLS} viable tumour cells are needed to score PD-L1 "
            f"(22C3 interpretation guide); {viable} counted."
        )
        return
    if counts["pdl1_pos_tumour_cells"] > viable:
        errors["pdl1_pos_tumour_cells"] = "PD-L1 positive tumour cells cannot exceed the viable tumour cells."
        return
    positives = (
        counts["pdl1_pos_tumour_cells"] + counts["pdl1_pos_lymphocytes"] + counts["pdl1_pos_macrophages"]
    )
    derived = {
        "cps": round(min(CPS_CAP, positives / viable * 100.0), 2),
        "tps": round(counts["pdl1_pos_tumour_cells"] / viable * 100.0, 2),
    }
    for name, value in derived.items():
        entered = values.get(name)
        cleaned[name] = value
        if entered is not None and abs(float(entered) - value) > AGREEMENT_TOLERANCE:
            cleaned["pdl1_discrepancy"] = True
    for k in COUNT_FIELDS:
        cleaned[k] = int(counts[k])


def validate_values(
    spec: MarkerSpec, values: dict[str, Any], *, tumour_cells_present: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (cleaned values, {field: message}); values holds None for blanks."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    allowed = set(spec.fields)
    for name in FIELD_KINDS:
        value = values.get(name)
        if value is None or value == "":
            continue
        if name not in allowed:
            errors[name] = f"{FIELD_LABELS[name]} is not recorded for {spec.code}."
            continue
        message = _check_field(spec, name, value)
        if message:
            errors[name] = message
        else:
            cleaned[name] = value
    if any(values.get(k) is not None for k in COUNT_FIELDS):
        if "cps" not in allowed:
            errors["viable_tumour_cells"] = f"PD-L1 cell counts are not recorded for {spec.code}."
        else:
            _counts_rules(values, errors, cleaned)
    if not tumour_cells_present:
        for name in ("tps", "cps"):
            if cleaned.get(name) is not None or (name in errors and values.get(name) is not None):
                errors[name] = (
                    f"{FIELD_LABELS[name]} needs tumour cells; this biopsy is recorded as without tumour cells."
                )
                cleaned.pop(name, None)
    for name in ("tps", "cps"):
        if values.get(name) is not None and name in cleaned:
            cleaned[f"{name}_entered"] = values[name]
    if not errors and not cleaned:
        errors["__all__"] = f"Enter at least one {spec.code} value."
    return cleaned, errors
