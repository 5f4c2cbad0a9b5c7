"""`import_aes` reads UTF-8 (with or without a BOM); a NUL byte or another encoding is refused in one line
naming the file and line, and nothing is stored."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from safety.models import AdverseEvent
from tests.safety.channels import IMPORT_COLUMNS
from tests.safety.conftest import api_data, base_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def csv_text(terms, dosed_participant) -> str:
    """One valid AE row (verbatim term "Fievre") as CSV text."""
    values = api_data(base_values(terms["Fatigue"], verbatim_term="Fievre"), dosed_participant.study_id)
    row = {
        k: ("1" if v is True else "0" if v is False else "" if v is None else str(v))
        for k, v in values.items()
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=IMPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerow({c: row.get(c, "") for c in IMPORT_COLUMNS})
    return out.getvalue()


def _import(path, coordinator) -> str:
    out = io.StringIO()
    call_command("import_aes", str(path), user=coordinator.username, stdout=out)
    return out.getvalue()


def test_a_utf8_bom_is_accepted(tmp_path, csv_text, coordinator):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text.replace("Fievre", "Fièvre").encode("utf-8"))
    assert "Imported 1 AE(s)" in _import(path, coordinator)
    assert AdverseEvent.objects.get().verbatim_term == "Fièvre"


@pytest.mark.parametrize(
    "name,encode,expected",
    [
        ("latin1.csv", lambda t: t.replace("Fievre", "Fièvre").encode("latin-1"), "not UTF-8"),
        ("nul.csv", lambda t: t.replace("Fievre", "Fie\x00vre").encode("utf-8"), "NUL byte"),
    ],
)
def test_a_nul_byte_or_a_latin1_file_is_refused_in_one_line(
    tmp_path, csv_text, coordinator, name, encode, expected
):
    path = tmp_path / name
    path.write_bytes(encode(csv_text))
    with pytest.raises(CommandError) as caught:
        _import(path, coordinator)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    assert str(path) in message and "line 2" in message and expected in message
    assert AdverseEvent.objects.count() == 0
