"""``pet_suv`` refuses a --weight-kg or --injection-time that contradicts the header, unless --override-header."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.quant.pet.phantoms import small_phantom

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PET_BLOCK_")} | env
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "pet_suv", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )


def _one_line_refusal(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.fixture
def phantom(tmp_path):
    return small_phantom(
        tmp_path / "series"
    ), tmp_path / "series"  # PatientWeight 75 kg, injected 48 h before


def test_a_contradicting_weight_is_refused_in_one_line_naming_both(phantom):
    _info, folder = phantom
    line = _one_line_refusal(_run(folder, "--weight-kg", "52.8", "--json"))
    assert "--weight-kg 52.8 contradicts the header PatientWeight 75 kg by 30 % (limit 20 %)" in line
    assert "--override-header" in line


def test_a_contradicting_injection_time_is_refused_in_one_line_naming_both(phantom):
    info, folder = phantom
    header = info.injection_datetime.replace(tzinfo=None)
    given = header.replace(day=header.day - 3)
    line = _one_line_refusal(_run(folder, "--injection-time", given.isoformat(), "--json"))
    assert f"--injection-time {given:%Y-%m-%d %H:%M}" in line
    assert f"RadiopharmaceuticalStartDateTime {header:%Y-%m-%d %H:%M} by 3.0 days (limit 1 day)" in line


def test_override_header_uses_the_given_values_and_says_so(phantom):
    info, folder = phantom
    proc = _run(folder, "--weight-kg", "52.8", "--override-header", "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["suv_bw_factor"] == pytest.approx(info.suv_bw_factor * 52.8 / 75.0, rel=1e-9)
    assert any(w.startswith("header overridden: --weight-kg 52.8") for w in payload["warnings"])


def test_within_the_limits_and_environment_limits(phantom):
    info, folder = phantom
    close = _run(folder, "--weight-kg", "70", "--json")  # 7 %: accepted as before
    assert close.returncode == 0, close.stderr
    assert json.loads(close.stdout)["warnings"] == []
    relaxed = _run(folder, "--weight-kg", "52.8", "--json", PET_BLOCK_WEIGHT_PCT="35")
    assert relaxed.returncode == 0, relaxed.stderr
    strict = _run(folder, "--weight-kg", "70", "--json", PET_BLOCK_WEIGHT_PCT="5")
    assert "(limit 5 %)" in _one_line_refusal(strict)


def test_the_django_command_refuses_the_same_way(phantom, settings):
    from django.core.management import CommandError, call_command

    _info, folder = phantom
    with pytest.raises(CommandError, match=r"--weight-kg 52.8 contradicts the header PatientWeight 75 kg"):
        call_command("pet_suv", str(folder), "--weight-kg", "52.8", "--json")
    settings.PET_BLOCK_WEIGHT_PCT = 35
    call_command("pet_suv", str(folder), "--weight-kg", "52.8", "--json")
