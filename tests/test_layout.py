"""The house limit on module size: split a module by subdomain before it passes ~600 lines."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600
SKIPPED = {".venv", "migrations", "tests", "var", "node_modules", ".git"}


def _modules() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if not SKIPPED & set(p.relative_to(ROOT).parts)]


def test_the_walk_sees_the_code():
    names = {p.relative_to(ROOT).as_posix() for p in _modules()}
    assert {"quant/pet/suv.py", "imaging/models.py", "manage.py"} <= names


def test_no_module_is_over_the_house_limit():
    long = {
        p.relative_to(ROOT).as_posix(): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these by subdomain: {long}"
