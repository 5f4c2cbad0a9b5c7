"""The reading rules of the lab grader beyond single band edges: baselines, value-only grading, bad input."""

from __future__ import annotations

import pytest

from quant.labs import LabGradeError, grade_values
from quant.labs.csv_rows import grade_csv_text


def g(**cells):
    return grade_values(**cells)


def test_a_normal_baseline_changes_nothing_for_the_liver_tests():
    # ALT ULN 40, baseline 40 is not above the ULN: 121 U/L is >3.0 x ULN -> grade 2 as without a baseline.
    assert g(test="ALT", value="121", unit="U/L", uln="40", baseline="40").grade == 2
    assert g(test="ALT", value="121", unit="U/L", uln="40").grade == 2


def test_an_abnormal_baseline_grades_by_multiples_of_the_baseline():
    # Baseline 100 U/L (> ULN 40): 121 is 1.21 x baseline, below "1.5 - 3.0 x baseline" -> not graded,
    # although it is 3.0 x the ULN.
    r = g(test="ALT", value="121", unit="U/L", uln="40", baseline="100")
    assert (r.grade, r.direction, r.ctcae_term) == (0, None, None)
    assert g(test="ALT", value="301", unit="U/L", uln="40", baseline="100").grade == 2


def test_creatinine_counts_multiples_of_any_baseline_beside_the_uln():
    # ">1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN": baseline 50, value 110 is 1.1 x ULN but 2.2 x baseline.
    assert g(test="CREAT", value="110", unit="umol/L", lln="60", uln="100").grade == 1
    assert g(test="CREAT", value="110", unit="umol/L", lln="60", uln="100", baseline="50").grade == 2


def test_grades_defined_by_symptoms_or_intervention_only_are_never_given_from_a_value():
    # Anemia grade 4 is "Life-threatening consequences": a haemoglobin of 3 g/dL is grade 3.
    assert g(test="HGB", value="3", unit="g/dL", lln="12", uln="16").grade == 3
    # Lipase >5.0 x ULN: grade 3 when asymptomatic; grade 4 needs signs or symptoms.
    assert g(test="LIPASE", value="6000", unit="U/L", uln="60").grade == 3
    # Hypokalemia grade 2 is "Symptomatic with <LLN - 3.0": asymptomatic 3.2 mmol/L is grade 1.
    assert g(test="K", value="3.2", unit="mmol/L", lln="3.5", uln="5.1").grade == 1
    # Hyperglycemia in v5.0 has no value bands: a glucose of 400 mg/dL is not graded.
    r = g(test="GLUC", value="400", unit="mg/dL", lln="70", uln="100")
    assert (r.grade, r.direction) == (0, None)
    # Hypermagnesemia has no grade 2.
    assert g(test="MG", value="2.9", unit="mg/dL", lln="1.7", uln="2.2").grade == 1


def test_a_fixed_edge_grades_without_the_lln_but_grade_1_needs_it():
    assert g(test="NEUT", value="1.2", unit="10^9/L").grade == 2
    with pytest.raises(LabGradeError, match="LLN is needed"):
        g(test="NEUT", value="1.7", unit="10^9/L")


def test_uln_multiples_need_the_uln():
    with pytest.raises(LabGradeError, match="ULN is needed to grade Alanine"):
        g(test="ALT", value="100", unit="U/L")


@pytest.mark.parametrize(
    "cells,message",
    [
        ({"test": "FOO", "value": "1", "unit": "U/L"}, "unknown test 'FOO'"),
        ({"test": "NEUT", "value": "1", "unit": "g/L"}, "unit 'g/L' cannot be used for NEUT"),
        ({"test": "NEUT", "value": "abc", "unit": "/mm3"}, "value 'abc' is not a number"),
        ({"test": "NEUT", "value": "-1", "unit": "/mm3"}, "negative"),
        ({"test": "NEUT", "value": "nan", "unit": "/mm3"}, "not a finite number"),
        ({"test": "NEUT", "value": "", "unit": "/mm3"}, "value is required"),
        ({"test": "NEUT", "value": "1", "unit": "/mm3", "lln": "9", "uln": "2"}, "LLN 9 is above ULN 2"),
        ({"test": "NEUT", "value": "1", "unit": "/mm3", "sex": "X"}, "sex 'X' must be M, F or empty"),
        ({"test": "ALT", "value": "1", "unit": "U/L", "uln": "40", "baseline": "0"}, "baseline of 0"),
    ],
)
def test_bad_rows_are_refused_with_a_readable_message(cells, message):
    with pytest.raises(LabGradeError, match=message):
        g(**cells)


def test_the_csv_reader_names_the_line_of_a_bad_row_and_accepts_empty_optional_cells():
    ok = grade_csv_text(
        "test,value,unit,lln,uln,baseline,sex\nPLAT,49,10^9/L,150,400,,\nK,5.2,mmol/L,3.5,5.1,,M\n"
    )
    assert [(r.test, r.grade) for r in ok] == [("PLAT", 3), ("K", 1)]
    with pytest.raises(LabGradeError, match="line 3: unit"):
        grade_csv_text("test,value,unit\nPLAT,49,10^9/L\nK,5,mg/dL\n")
    with pytest.raises(LabGradeError, match="lacks column"):
        grade_csv_text("test,value\nK,5\n")
