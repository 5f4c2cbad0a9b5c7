"""Grade one laboratory value by CTCAE v5.0 (criteria in ``quant.labs.criteria``).

Reading rules (stated in the casebook issue and applied to every test):

- A value exactly on a band edge takes the milder grade (CTCAE's "<" and ">"). This includes the
  abnormal-baseline grade 1 edges written without ">" ("1.5 - 3.0 x baseline"): exactly 1.5 x baseline
  is grade 0.
- Grading is from the value alone: where CTCAE splits a band by symptoms, the asymptomatic grade applies,
  and grades defined only clinically (e.g. Anemia grade 4, Hyperglycemia) are never given.
- An abnormal baseline is one above the ULN. For ALT, AST, ALP, GGT and bilirubin it replaces the x ULN
  bands by the x baseline bands ("if baseline was abnormal"); for hemoglobin increased the increase is
  counted from the baseline instead of the ULN. A baseline at or below the ULN is normal and changes
  nothing for these. Creatinine increased names both limits in one band without a baseline condition
  (">1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN"), so when a baseline is given its x baseline edges count
  beside the x ULN ones and the higher grade wins.
- The value, LLN, ULN and baseline are in the row's unit. Fixed CTCAE edges are read in that unit as
  CTCAE prints them (75.0 x 10e9/L or 75,000/mm3; 3.0 mmol/L or 55 mg/dL).
- Grade 0 means "not graded": within the limits, between the LLN/ULN and the first CTCAE edge of a term
  without grade 1, or high where CTCAE has no value-based term. Direction and term are then None.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from quant.errors import QuantError
from quant.labs.criteria import (
    HGB_PER_G_DL,
    TESTS,
    Absolute,
    Band,
    Criterion,
    Lln,
    OverReference,
    TimesBaseline,
    TimesUln,
    Uln,
)

UNITS = ("10^9/L", "/mm3", "g/dL", "g/L", "mmol/L", "mg/dL", "umol/L", "U/L")
SEXES = ("", "M", "F")


class LabGradeError(QuantError):
    """A lab row that cannot be graded (unknown test or unit, bad number, limits missing or reversed)."""


@dataclass(frozen=True)
class LabInput:
    test: str
    value: Decimal
    unit: str
    lln: Decimal | None = None
    uln: Decimal | None = None
    baseline: Decimal | None = None
    sex: str = ""


@dataclass(frozen=True)
class LabGrade:
    test: str
    grade: int
    direction: str | None
    ctcae_term: str | None
    criterion: str = ""

    def as_contract(self) -> dict[str, object]:
        """The ``ctcae_lab_grade --json`` row."""
        return {
            "test": self.test,
            "grade": self.grade,
            "direction": self.direction,
            "ctcae_term": self.ctcae_term,
        }


def parse_number(text: object, what: str, *, required: bool) -> Decimal | None:
    """A finite, non-negative decimal from a cell ('' or None: None unless required)."""
    raw = "" if text is None else str(text).strip()
    if not raw:
        if required:
            raise LabGradeError(f"{what} is required")
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation as exc:
        raise LabGradeError(f"{what} {raw!r} is not a number") from exc
    if not number.is_finite():
        raise LabGradeError(f"{what} {raw!r} is not a finite number")
    if number < 0:
        raise LabGradeError(f"{what} {raw!r} is negative")
    return number


def lab_input(
    *,
    test: str,
    value: object,
    unit: str,
    lln: object = None,
    uln: object = None,
    baseline: object = None,
    sex: str | None = "",
) -> LabInput:
    """Check one row's cells and build a LabInput (LabGradeError on anything unusable)."""
    code = (test or "").strip().upper()
    if code not in TESTS:
        raise LabGradeError(f"unknown test {test!r}; expected one of {', '.join(TESTS)}")
    unit = (unit or "").strip()
    if unit not in TESTS[code].units:
        raise LabGradeError(
            f"unit {unit!r} cannot be used for {code}; expected {' or '.join(TESTS[code].units)}"
        )
    sex_code = (sex or "").strip().upper()
    if sex_code not in SEXES:
        raise LabGradeError(f"sex {sex!r} must be M, F or empty")
    row = LabInput(
        test=code,
        value=parse_number(value, "value", required=True),  # type: ignore[arg-type]
        unit=unit,
        lln=parse_number(lln, "LLN", required=False),
        uln=parse_number(uln, "ULN", required=False),
        baseline=parse_number(baseline, "baseline", required=False),
        sex=sex_code,
    )
    if row.baseline is not None and row.baseline == 0:
        raise LabGradeError(f"{code}: a baseline of 0 cannot be used")
    if row.lln is not None and row.uln is not None and row.lln > row.uln:
        raise LabGradeError(f"{code}: LLN {row.lln} is above ULN {row.uln}")
    return row


def baseline_abnormal(row: LabInput) -> bool:
    """CTCAE's "baseline was abnormal" for an increase: the baseline is above the ULN."""
    return row.baseline is not None and row.uln is not None and row.baseline > row.uln


def _need(limit: Decimal | None, name: str, row: LabInput, term: str) -> Decimal:
    if limit is None:
        raise LabGradeError(f"{row.test}: the {name} is needed to grade {term}")
    return limit


def _edge_value(band: Band, row: LabInput, term: str) -> Decimal:
    edge = band.edge
    if isinstance(edge, Uln):
        return _need(row.uln, "ULN", row, term)
    if isinstance(edge, Lln):
        return _need(row.lln, "LLN", row, term)
    if isinstance(edge, TimesUln):
        return edge.factor * _need(row.uln, "ULN", row, term)
    if isinstance(edge, TimesBaseline):
        return edge.factor * _need(row.baseline, "baseline", row, term)
    if isinstance(edge, Absolute):
        return edge.by_unit[row.unit]
    if isinstance(edge, OverReference):
        reference = row.baseline if baseline_abnormal(row) else _need(row.uln, "ULN", row, term)
        return reference + edge.g_per_dl * HGB_PER_G_DL[row.unit]  # type: ignore[operator]
    raise LabGradeError(f"unsupported edge {edge!r}")  # pragma: no cover - criteria table is fixed


def _bands(criterion: Criterion, row: LabInput) -> tuple[Band, ...]:
    if criterion.abnormal_baseline_bands and baseline_abnormal(row):
        return criterion.abnormal_baseline_bands
    if criterion.baseline_extra and row.baseline is not None:
        return criterion.bands + criterion.baseline_extra
    return criterion.bands


def grade(row: LabInput) -> LabGrade:
    """CTCAE v5.0 grade of one lab value (see the module docstring for the reading rules)."""
    test = TESTS[row.test]
    results: list[tuple[int, Criterion, str]] = []
    for criterion in test.criteria:
        if criterion.direction == "high" and row.lln is not None and row.value < row.lln:
            continue
        if criterion.direction == "low" and row.uln is not None and row.value > row.uln:
            continue
        g, text = _grade_severe_first(criterion, row)
        results.append((g, criterion, text))
    graded = [item for item in results if item[0] > 0]
    if not graded:
        return LabGrade(row.test, 0, None, None)
    g, criterion, text = max(graded, key=lambda item: item[0])
    return LabGrade(row.test, g, criterion.direction, criterion.term, text)


def _grade_severe_first(criterion: Criterion, row: LabInput) -> tuple[int, str]:
    """Like `_grade_criterion`, but walks the bands from grade 4 down and stops at the first passed.

    So a value below CTCAE's fixed grade 2 edge is graded even when the LLN is not given, and the LLN/ULN
    is only required when the grade depends on it.
    """
    for band in sorted(_bands(criterion, row), key=lambda b: -b.grade):
        edge = _edge_value(band, row, criterion.term)
        passed = row.value > edge if criterion.direction == "high" else row.value < edge
        if passed:
            return band.grade, band.criterion
    return 0, ""


def grade_values(**cells: object) -> LabGrade:
    """Check and grade one row given as cells (strings or numbers)."""
    return grade(lab_input(**cells))  # type: ignore[arg-type]
