"""`manage.py pk_fit CSV --json`: the exact contract on analytic curves, and one-line refusals."""

from __future__ import annotations

import json
import math
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

LN2 = math.log(2.0)
T_PHYS = 78.41
KEYS = [
    "model",
    "half_lives_h",
    "effective_half_life_h",
    "biological_half_life_h",
    "auc_0_last",
    "auc_0_inf",
    "auc_extrapolated_pct",
    "r2",
    "warnings",
]


def write(tmp_path: Path, rows: list[tuple[float, float]], header: str = "t_h,value") -> str:
    path = tmp_path / "curve.csv"
    path.write_text(header + "\n" + "".join(f"{t},{v!r}\n" for t, v in rows))
    return str(path)


def run(*args: str) -> dict:
    out = StringIO()
    call_command("pk_fit", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_bi_exponential_serum_curve_decay_corrected(tmp_path):
    # Serum-like: 5, 30, 60 min and the scan times; T1/2 3 h and 80 h (biological).
    times = [0.083, 0.5, 1.0, 2.0, 6.0, 24.0, 48.0, 96.0, 144.0]
    rows = [(t, 12.0 * math.exp(-LN2 / 3.0 * t) + 6.0 * math.exp(-LN2 / 80.0 * t)) for t in times]
    payload = run(write(tmp_path, rows), "--model", "auto", "--decay-corrected", "yes")
    assert list(payload) == KEYS
    assert payload["model"] == "bi"
    assert payload["half_lives_h"] == pytest.approx([3.0, 80.0], rel=1e-5)
    assert payload["biological_half_life_h"] == pytest.approx(80.0, rel=1e-5)
    assert payload["effective_half_life_h"] == pytest.approx(1 / (1 / 80.0 + 1 / T_PHYS), rel=1e-5)
    # Closed form sum A_i / k_i = 744.43; log trapezoids over the 6-24 h gap of a sum of exponentials
    # overestimate it (757.10 here, +1.7 %): the tolerance is 2 %.
    assert payload["auc_0_inf"] == pytest.approx(12.0 * 3.0 / LN2 + 6.0 * 80.0 / LN2, rel=0.02)
    assert payload["r2"] == pytest.approx(1.0, abs=1e-9)


def test_mono_exponential_uncorrected_gives_effective_then_biological(tmp_path):
    k_eff = LN2 / 60.0 + LN2 / T_PHYS
    rows = [(t, 5.0 * math.exp(-k_eff * t)) for t in (24.0, 48.0, 96.0, 144.0)]
    payload = run(write(tmp_path, rows), "--model", "mono", "--decay-corrected", "no")
    assert payload["model"] == "mono"
    assert payload["effective_half_life_h"] == pytest.approx(LN2 / k_eff, rel=1e-6)
    assert payload["biological_half_life_h"] == pytest.approx(60.0, rel=1e-6)
    assert payload["auc_0_inf"] == pytest.approx(5.0 / k_eff, rel=1e-9)
    tail = 5.0 * math.exp(-k_eff * 144.0) / k_eff
    assert payload["auc_extrapolated_pct"] == pytest.approx(100 * tail / (5.0 / k_eff), rel=1e-9)
    assert any("fitted_intercept" in w for w in payload["warnings"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("t_h,value\n1,2\n2,1\n", "at least 3 points"),
        ("t_h,value\n-1,2\n2,1\n3,0.5\n", "negative time"),
        ("t_h,value\n1,2\n2,0\n3,0.5\n", "non-positive value"),
        ("t_h,value\n1,2\n2,x\n3,0.5\n", "line 3"),
        ("time,value\n1,2\n2,1\n3,0.5\n", "missing t_h"),
    ],
)
def test_bad_csv_is_a_one_line_command_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(CommandError, match=message) as info:
        call_command("pk_fit", str(path), "--json", stdout=StringIO())
    assert "\n" not in str(info.value)


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("pk_fit", str(tmp_path / "none.csv"), stdout=StringIO())
