"""IHC value rules: ranges, CPS from counts with its cap, the 100-cell minimum (no database)."""

from __future__ import annotations

import pytest

from pathology.markers import CD8_FIELDS, PDL1_FIELDS
from pathology.validation import MarkerSpec, validate_values

CD8 = MarkerSpec("CD8", "density", tuple(CD8_FIELDS), 0.0, None, ("inflamed", "excluded", "desert"))
PDL1 = MarkerSpec("PD-L1", "percent", tuple(PDL1_FIELDS), 0.0, 100.0)
FOXP3 = MarkerSpec("FOXP3", "density", ("value",), 0.0, 2000.0)
GRADE = MarkerSpec("LAG3", "score", ("value",), 0.0, 3.0)


def check(spec, tumour=True, **values):
    return validate_values(spec, values, tumour_cells_present=tumour)


@pytest.mark.parametrize(
    "field,value,ok",
    [
        ("percent_positive", 0, True),
        ("percent_positive", 100, True),
        ("percent_positive", 100.01, False),
        ("percent_positive", -0.1, False),
        ("density_intratumoural", 0, True),
        ("density_intratumoural", -1, False),
        ("density_stromal", 12000, True),
        ("h_score", 300, True),
        ("h_score", 301, False),
        ("h_score", -1, False),
        ("semi_quant", 3, True),
        ("semi_quant", 4, False),
        ("immune_phenotype", "excluded", True),
        ("immune_phenotype", "hot", False),
    ],
)
def test_cd8_ranges(field, value, ok):
    cleaned, errors = check(CD8, **{field: value})
    assert (field not in errors) is ok
    assert (cleaned.get(field) == value) is ok


def test_messages_state_the_limit_and_the_value():
    _, errors = check(CD8, percent_positive=120)
    assert errors["percent_positive"] == "Percentage of positive cells must be at most 100%; 120 was entered."
    _, errors = check(CD8, density_stromal=-5)
    assert errors["density_stromal"] == "Stromal density must be at least 0 cells/mm²; -5 was entered."


@pytest.mark.parametrize(
    "field,value,ok",
    [
        ("tps", 0, True),
        ("tps", 100, True),
        ("tps", 101, False),
        ("cps", 100, True),
        ("cps", 100.5, False),
        ("cps", -1, False),
    ],
)
def test_pdl1_tps_and_cps_ranges(field, value, ok):
    _, errors = check(PDL1, **{field: value})
    assert (field not in errors) is ok


def test_cps_is_computed_from_counts_and_capped_at_100():
    # (40 + 30 + 10) / 200 * 100 = 40; TPS = 40/200 = 20 %.
    cleaned, errors = check(
        PDL1,
        pdl1_pos_tumour_cells=40,
        pdl1_pos_lymphocytes=30,
        pdl1_pos_macrophages=10,
        viable_tumour_cells=200,
    )
    assert errors == {}
    assert cleaned["cps"] == 40.0 and cleaned["tps"] == 20.0
    # (90 + 80 + 50) / 120 * 100 = 183.3 -> capped at 100.
    cleaned, errors = check(
        PDL1,
        pdl1_pos_tumour_cells=90,
        pdl1_pos_lymphocytes=80,
        pdl1_pos_macrophages=50,
        viable_tumour_cells=120,
    )
    assert errors == {} and cleaned["cps"] == 100.0 and cleaned["tps"] == 75.0


def test_counts_need_100_viable_tumour_cells():
    _, errors = check(
        PDL1, pdl1_pos_tumour_cells=10, pdl1_pos_lymphocytes=0, pdl1_pos_macrophages=0, viable_tumour_cells=99
    )
    assert "At least 100 viable tumour cells" in errors["viable_tumour_cells"]
    cleaned, errors = check(
        PDL1, pdl1_pos_tumour_cells=1, pdl1_pos_lymphocytes=0, pdl1_pos_macrophages=0, viable_tumour_cells=100
    )
    assert errors == {} and cleaned["cps"] == 1.0


def test_counts_must_be_complete_consistent_and_agree_with_an_entered_cps():
    _, errors = check(PDL1, pdl1_pos_tumour_cells=10, viable_tumour_cells=200)
    assert "all four" in errors["pdl1_pos_lymphocytes"]
    _, errors = check(
        PDL1,
        pdl1_pos_tumour_cells=300,
        pdl1_pos_lymphocytes=0,
        pdl1_pos_macrophages=0,
        viable_tumour_cells=200,
    )
    assert "cannot exceed" in errors["pdl1_pos_tumour_cells"]
    cleaned, errors = check(
        PDL1,
        cps=55,
        pdl1_pos_tumour_cells=40,
        pdl1_pos_lymphocytes=30,
        pdl1_pos_macrophages=10,
        viable_tumour_cells=200,
    )
    # A typed CPS that disagrees is kept beside the computed one and flagged, never refused or replaced.
    assert errors == {}
    assert (cleaned["cps"], cleaned["cps_entered"], cleaned["pdl1_discrepancy"]) == (40.0, 55, True)
    cleaned, errors = check(
        PDL1,
        cps=40.4,
        pdl1_pos_tumour_cells=40,
        pdl1_pos_lymphocytes=30,
        pdl1_pos_macrophages=10,
        viable_tumour_cells=200,
    )
    assert errors == {} and cleaned["cps"] == 40.0 and cleaned["cps_entered"] == 40.4
    assert "pdl1_discrepancy" not in cleaned  # within 0.5 of the computed value: kept, not flagged


def test_tps_and_cps_need_tumour_cells():
    _, errors = check(PDL1, tumour=False, tps=10)
    assert "needs tumour cells" in errors["tps"]
    cleaned, errors = check(CD8, tumour=False, density_stromal=150)
    assert errors == {} and cleaned == {"density_stromal": 150}


def test_fields_of_another_marker_and_empty_entries_are_refused():
    _, errors = check(CD8, tps=10)
    assert errors["tps"] == "Tumour proportion score is not recorded for CD8."
    _, errors = check(CD8)
    assert errors == {"__all__": "Enter at least one CD8 value."}


def test_configurable_markers_use_their_own_type_and_range():
    assert check(FOXP3, value=2000)[1] == {}
    assert "at most 2000" in check(FOXP3, value=2001)[1]["value"]
    assert check(GRADE, value=2)[1] == {}
    assert "whole number" in check(GRADE, value=1.5)[1]["value"]
    assert "at most 3" in check(GRADE, value=4)[1]["value"]
