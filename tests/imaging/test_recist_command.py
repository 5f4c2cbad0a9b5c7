"""The recist_evaluate command: example files, JSON output and one-line errors for malformed input."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

DATA = Path(__file__).resolve().parents[1] / "data" / "recist"
ROOT = Path(__file__).resolve().parents[2]


def evaluate(path: Path) -> dict[str, Any]:
    out = io.StringIO()
    call_command("recist_evaluate", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def responses(result: dict[str, Any], key: str) -> list[str | None]:
    return [tp[key] for tp in result["timepoints"]]


def test_confirmed_pr_example() -> None:
    result = evaluate(DATA / "confirmed_pr.json")
    assert responses(result, "sum_mm") == [85, 57, 49, 59]  # LD + node short axis
    assert responses(result, "recist") == [None, "PR", "PR", "PD"]  # 59 mm = nadir 49 + 20.4 %
    assert responses(result, "irecist") == [None, "iPR", "iPR", "iUPD"]
    best = result["best_overall_response"]
    assert (best["recist"], best["irecist"]) == ("PR", "iPR")
    assert set(result["timepoints"][1]["reasons"]) >= {"target", "non_target", "recist", "irecist"}


def test_pseudoprogression_example() -> None:
    result = evaluate(DATA / "pseudoprogression.json")
    assert responses(result, "recist") == [None, "PD", "SD", "PR"]
    assert responses(result, "irecist") == [None, "iUPD", "iSD", "iPR"]
    best = result["best_overall_response"]
    assert (best["recist"], best["irecist"]) == ("PD", "iSD")
    assert best["progression_date"] == {"recist": "2025-02-17", "irecist": None}


def test_confirmed_progression_by_new_lesions_example() -> None:
    result = evaluate(DATA / "confirmed_progression.json")
    assert responses(result, "irecist") == [
        None,
        "iUPD",
        "iCPD",
    ]  # N3 is another new lesion; N2 is a normal node
    assert result["timepoints"][2]["reasons"]["irecist"]["code"] == "icpd_additional_new_lesion"
    assert result["best_overall_response"]["irecist"] == "iCPD"


def test_non_target_only_example() -> None:
    result = evaluate(DATA / "non_target_only.json")
    assert responses(result, "recist") == [None, "NON_CR_NON_PD", "CR", "CR"]
    assert responses(result, "irecist") == [None, "NON_iCR_NON_iUPD", "iCR", "iCR"]
    assert responses(result, "sum_mm") == [None, None, None, None]
    assert result["best_overall_response"]["recist"] == "CR"  # 84 -> 126 days: 42 >= 28


def test_plain_text_output() -> None:
    out = io.StringIO()
    call_command("recist_evaluate", str(DATA / "confirmed_pr.json"), stdout=out)
    assert "best overall response: RECIST PR, iRECIST iPR" in out.getvalue()


def _request() -> dict[str, Any]:
    return json.loads((DATA / "confirmed_pr.json").read_text())


def _set(path: list[Any], value: Any) -> dict[str, Any]:
    data = _request()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def _drop(path: list[Any]) -> dict[str, Any]:
    data = _request()
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return data


MALFORMED = [
    ("missing-assessments", _drop(["assessments"]), "missing key 'assessments'"),
    ("missing-date", _drop(["assessments", 1, "date"]), "missing key 'date'"),
    ("missing-target", _drop(["assessments", 1, "target_mm", "T2"]), "target_mm is missing T2"),
    ("missing-nodal", _drop(["lesions", 0, "nodal"]), "lesion T1: missing key 'nodal'"),
    ("unknown-target-id", _set(["assessments", 1, "target_mm", "T9"], 10), "unknown lesion id(s) T9"),
    (
        "unknown-non-target-id",
        _set(["assessments", 1, "non_target", "NT7"], "present"),
        "unknown lesion id(s) NT7",
    ),
    ("dates-not-increasing", _set(["assessments", 2, "date"], "2025-03-03"), "dates must increase"),
    ("bad-date", _set(["assessments", 1, "date"], "03/03/2025"), "is not YYYY-MM-DD"),
    ("bad-status", _set(["assessments", 1, "non_target", "NT1"], "bigger"), "'bigger' is not one of"),
    ("bad-role", _set(["lesions", 0, "role"], "index"), "role must be 'target' or 'non_target'"),
    ("negative-mm", _set(["assessments", 1, "target_mm", "T1"], -3), "negative measurement"),
    ("string-mm", _set(["assessments", 1, "target_mm", "T1"], "12"), "must be a number of mm or null"),
    (
        "negative-new-mm",
        _set(["assessments", 1, "new_lesions"], [{"id": "N", "organ": "x", "nodal": False, "mm": -1}]),
        "negative measurement",
    ),
    ("bad-settings", _set(["settings", "confirmation_days"], "four weeks"), "confirmation_days must be"),
    ("target-not-measurable", _set(["assessments", 0, "target_mm", "T2"], 9), "T2 longest diameter 9 mm"),
    ("node-too-small", _set(["assessments", 0, "target_mm", "LN1"], 12), "LN1 short axis 12 mm"),
    ("duplicate-id", _set(["lesions", 1, "id"], "T1"), "duplicate lesion id"),
    ("not-an-object", [1, 2], "top level must be a JSON object"),
]


@pytest.mark.parametrize(("data", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_input_is_one_line_command_error(tmp_path: Path, data: Any, message: str) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(copy.deepcopy(data)))
    with pytest.raises(CommandError) as err:
        call_command("recist_evaluate", str(path), "--json")
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_bad_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"lesions": [}')
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("recist_evaluate", str(path))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("recist_evaluate", str(tmp_path / "absent.json"))


def test_cli_exits_non_zero_with_a_one_line_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_set(["assessments", 1, "non_target", "NT1"], "bigger")))
    proc = subprocess.run(
        [sys.executable, "manage.py", "recist_evaluate", str(path), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "'bigger' is not one of" in lines[0] and "Traceback" not in proc.stderr
