"""`manage.py ctcae_lab_grade CSV --json`: the exact output contract and one-line errors."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command


def run(tmp_path, text: str) -> dict:
    path = tmp_path / "labs.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("ctcae_lab_grade", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_it_prints_exactly_the_contract(tmp_path):
    result = run(
        tmp_path,
        "test,value,unit,lln,uln,baseline,sex\n"
        "NEUT,900,/mm3,1800,7500,,F\n"  # <1000 - 500/mm3 -> grade 3
        "ALT,200,U/L,0,40,,\n"  # exactly 5.0 x ULN -> milder grade 2
        "ALT,200,U/L,0,40,100,\n"  # abnormal baseline 100: 2.0 x baseline -> grade 1
        "SODIUM,140,mmol/L,135,145,,\n"
        "GLUC,25,mg/dL,70,100,,M\n",  # <30 mg/dL -> grade 4
    )
    assert result == {
        "rows": [
            {"test": "NEUT", "grade": 3, "direction": "low", "ctcae_term": "Neutrophil count decreased"},
            {
                "test": "ALT",
                "grade": 2,
                "direction": "high",
                "ctcae_term": "Alanine aminotransferase increased",
            },
            {
                "test": "ALT",
                "grade": 1,
                "direction": "high",
                "ctcae_term": "Alanine aminotransferase increased",
            },
            {"test": "SODIUM", "grade": 0, "direction": None, "ctcae_term": None},
            {"test": "GLUC", "grade": 4, "direction": "low", "ctcae_term": "Hypoglycemia"},
        ]
    }


@pytest.mark.parametrize(
    "text,message",
    [
        ("test,value,unit\nHGB,9,mg/dL\n", "line 2: unit 'mg/dL' cannot be used for HGB"),
        ("test,value,unit,lln,uln\nK,x,mmol/L,3.5,5.1\n", "line 2: value 'x' is not a number"),
        ("value,unit\n1,U/L\n", "lacks column(s) test"),
    ],
)
def test_bad_input_is_a_one_line_command_error(tmp_path, text, message):
    with pytest.raises(CommandError) as err:
        run(tmp_path, text)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="not found"):
        call_command("ctcae_lab_grade", str(tmp_path / "none.csv"), "--json")
