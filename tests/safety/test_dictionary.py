"""The shipped CTCAE v5.0 dictionary: 837 terms, 26 SOCs, grade texts intact, loader idempotent."""

from __future__ import annotations

import csv
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from safety.ctcae import CTCAE_V5_CSV, read_rows
from safety.models import CtcaeTerm

pytestmark = pytest.mark.django_db
SHARED_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "ctcae_v5" / "ctcae_v5.csv"


def source_rows() -> list[dict[str, str]]:
    with CTCAE_V5_CSV.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_migration_loaded_837_terms_in_26_socs_with_837_distinct_codes():
    qs = CtcaeTerm.objects.filter(version="5.0")
    assert qs.count() == 837
    assert qs.values("soc").distinct().count() == 26
    assert qs.values("meddra_code").distinct().count() == 837
    assert qs.values("term").distinct().count() == 837


def test_every_field_of_every_term_equals_the_shipped_csv_including_multiline_texts():
    stored = {t.meddra_code: t for t in CtcaeTerm.objects.filter(version="5.0")}
    rows = source_rows()
    assert len(rows) == 837
    for row in rows:
        term = stored[int(row["meddra_code"])]
        for field in (
            "soc",
            "term",
            "grade1",
            "grade2",
            "grade3",
            "grade4",
            "grade5",
            "definition",
            "navigational_note",
        ):
            assert getattr(term, field) == row[field], (row["term"], field)
    multiline = {t.term for t in stored.values() if any("\n" in t.grade_text(g) for g in range(1, 6))}
    assert multiline == {
        "Hearing impaired",
        "Urine output decreased",
        "Osteoporosis",
        "Proteinuria",
        "Hypertension",
    }
    cells = sum(1 for t in stored.values() for g in range(1, 6) if "\n" in t.grade_text(g))
    assert cells == 14  # SOURCE.md: 14 multi-part grade texts
    assert "\u00a0" in CtcaeTerm.objects.get(term="Eczema").grade1  # the one non-breaking space survives


def test_the_empty_cell_counts_match_source_md():
    rows = source_rows()
    empty = Counter(k for r in rows for k, v in r.items() if v == "")
    assert (empty["grade1"], empty["grade2"], empty["grade3"], empty["grade4"], empty["grade5"]) == (
        192,
        92,
        87,
        286,
        343,
    )
    assert empty["definition"] == 26 and empty["navigational_note"] == 763


def test_the_shipped_copy_is_identical_to_the_shared_reference_when_present():
    if SHARED_CSV.exists():  # the project must also work without ../shared
        assert SHARED_CSV.read_bytes() == CTCAE_V5_CSV.read_bytes()
    assert (CTCAE_V5_CSV.parent / "SOURCE.md").read_text().startswith("# CTCAE v5.0")


def test_grades_with_a_definition_febrile_neutropenia_and_death_nos():
    assert CtcaeTerm.objects.get(term="Febrile neutropenia").defined_grades == [3, 4, 5]
    assert CtcaeTerm.objects.get(term="Death NOS").defined_grades == [5]
    assert CtcaeTerm.objects.get(term="Fatigue").defined_grades == [1, 2, 3]
    others = CtcaeTerm.objects.filter(term__endswith="Other, specify")
    assert others.count() == 26 and all(t.is_other_specify and t.definition == "" for t in others)


def test_load_ctcae_is_idempotent_and_repairs_a_changed_term():
    out = StringIO()
    call_command("load_ctcae", stdout=out)
    assert "837 terms, 26 SOCs (0 created, 0 updated, 837 unchanged)" in out.getvalue()
    CtcaeTerm.objects.filter(term="Fatigue").update(grade1="tampered")
    CtcaeTerm.objects.filter(term="Death NOS").delete()
    out = StringIO()
    call_command("load_ctcae", stdout=out)
    assert "837 terms, 26 SOCs (1 created, 1 updated, 835 unchanged)" in out.getvalue()
    assert (
        CtcaeTerm.objects.get(term="Fatigue").grade1
        == read_rows()[[r["term"] for r in read_rows()].index("Fatigue")]["grade1"]
    )
    call_command("load_ctcae", stdout=StringIO())
    assert CtcaeTerm.objects.count() == 837


def test_load_ctcae_with_a_bad_file_gives_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,term\n1,x\n")
    with pytest.raises(CommandError, match="expected columns"):
        call_command("load_ctcae", path=bad)
    with pytest.raises(CommandError, match="not found"):
        call_command("load_ctcae", path=tmp_path / "missing.csv")


def test_a_second_dictionary_version_can_live_beside_v5(tmp_path):
    call_command("load_ctcae", path=CTCAE_V5_CSV, ctcae_version="6.0", stdout=StringIO())
    assert CtcaeTerm.objects.filter(version="6.0").count() == 837
    assert CtcaeTerm.objects.filter(version="5.0").count() == 837
