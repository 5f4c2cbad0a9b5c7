"""`manage.py load_whodrug`: the documented CSV format, idempotent, one-line errors."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from casebook.models import WhoDrugEntry

pytestmark = pytest.mark.django_db


def load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_whodrug", *args, stdout=out)
    return out.getvalue().strip()


def test_the_demo_sample_loads_once_and_a_second_run_changes_nothing(tmp_path):
    assert load() == "12 created, 0 updated, 0 unchanged"
    assert load() == "0 created, 0 updated, 12 unchanged"
    assert WhoDrugEntry.objects.get(drug_code="DEMO0000001").atc_code == "H02AB06"
    edited = tmp_path / "d.csv"
    edited.write_text(
        "drug_code,drug_name,atc_code,atc_text\nDEMO0000001,PREDNISOLONE,H02AB06,prednisolone (oral)\n"
    )
    assert load(str(edited)) == "0 created, 1 updated, 0 unchanged"


@pytest.mark.parametrize(
    "text,message",
    [
        ("code,name\nX,Y\n", "expected the columns"),
        ("drug_code,drug_name,atc_code\nX1,,\n", "line 2: drug_code and drug_name are required"),
        ("drug_code,drug_name,atc_code\nX1,Y,H2\n", "line 2: 'H2' is not an ATC code"),
        ("drug_code,drug_name\nX1,Y\nX1,Z\n", "line 3: drug code X1 appears twice"),
    ],
)
def test_a_malformed_file_is_one_command_error_and_loads_nothing(tmp_path, text, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(CommandError, match=message):
        load(str(bad))
    assert not WhoDrugEntry.objects.exists()
