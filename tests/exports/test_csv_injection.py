"""CSV formula injection: text cells starting with = + - @ TAB CR get a leading ' in every CSV we write
(API COPY stream, row-by-row writer, SDTM datasets, safety table downloads); numbers such as -1.5 stay."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from exports import sdtm_data, selectors
from exports.csv_stream import stream_csv
from exports.resources import load_all
from tests.exports.builders import make_ae
from trial.csv_safety import escape_sql, safe_cell, safe_writer

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://x","y")'
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def evil_ae(coordinator, participant):
    return make_ae(
        coordinator, participant, "Fatigue", verbatim_term=EVIL, out_of_window_reason="before dosing"
    )


def _cells(text: str) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(text)) for cell in row}


def _assert_escaped(text: str) -> None:
    cells = _cells(text)
    assert "'" + EVIL in cells
    assert EVIL not in cells


@pytest.mark.parametrize(
    "value,expected",
    [
        (EVIL, "'" + EVIL),
        ("+1 call", "'+1 call"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        ("-2e-3", "-2e-3"),
        ("Fatigue", "Fatigue"),
        (-1.5, -1.5),
        (None, None),
    ],
)
def test_safe_cell_escapes_text_but_not_numbers(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [(EVIL, "'" + EVIL), ("-1.5", "-1.5"), ("-x", "'-x"), ("\tx", "'\tx"), ("ok", "ok"), (None, None)],
)
def test_the_sql_escape_matches_safe_cell(value, expected):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {escape_sql('q.v')} FROM (SELECT %s::text AS v) AS q", [value])
        assert cursor.fetchone()[0] == expected


def test_api_csv_copy_path_escapes_the_verbatim_term_and_keeps_numbers(evil_ae, data_manager, coordinator):
    from tests import factories

    factories.record_tracer_dose(coordinator, evil_ae.participant)
    client = APIClient()
    client.force_authenticate(data_manager)
    response = client.get("/api/v1/export/adverse-events/", {"format": "csv"})
    _assert_escaped(b"".join(response.streaming_content).decode())
    doses = b"".join(client.get("/api/v1/export/tracer-doses/", {"format": "csv"}).streaming_content).decode()
    assert not any(c.startswith("'") for c in _cells(doses))


def test_row_by_row_writer_escapes_the_verbatim_term(evil_ae, data_manager):
    resource = load_all()["adverse-events"]
    qs = selectors.base_queryset(resource, data_manager)
    _assert_escaped(b"".join(stream_csv(resource.csv_header(), selectors.csv_rows(resource, qs))).decode())


def test_sdtm_csv_escapes_the_verbatim_term(evil_ae, data_manager):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        sdtm_data.write_datasets_into(zf, data_manager)
    with zipfile.ZipFile(buffer) as zf:
        _assert_escaped(zf.read("sdtm/ae.csv").decode())


def test_safety_table_download_escapes_the_verbatim_term(evil_ae, client, data_manager):
    evil_ae.serious = True
    evil_ae.save(update_fields=["serious"])
    client.force_login(data_manager)
    _assert_escaped(client.get("/safety/tables/csv/?table=sae").content.decode())


def test_safe_writer_escapes_rows():
    out = io.StringIO()
    safe_writer(out).writerows([[EVIL, -1.5, "-1.5"]])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'" + EVIL, "-1.5", "-1.5"]


def test_no_csv_is_written_without_the_escaping_writer():
    """Every csv.writer / DictWriter in the apps goes through trial.csv_safety (or escapes each cell)."""
    allowed = {"trial/csv_safety.py", "exports/csv_stream.py", "exports/sdtm.py"}
    raw = []
    for app in ("trial", "safety", "imaging", "lesions", "pathology", "exports", "accounts"):
        for path in (ROOT / app).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in allowed and re.search(r"csv\.(writer|DictWriter)\(", path.read_text()):
                raw.append(rel)
    assert not raw
