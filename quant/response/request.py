"""JSON request parsing for the RECIST/iRECIST engine (the ``recist_evaluate`` contract).

Plain module, no Django: malformed input raises ``RecistInputError`` with a one-line message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from quant.response.evaluate import evaluate
from quant.response.recist import (
    NT_STATUSES,
    ROLES,
    Assessment,
    Lesion,
    NewLesion,
    RecistInputError,
    Settings,
)


def parse_request(data: Any) -> tuple[Settings, list[Lesion], list[Assessment]]:
    """Turn the JSON request of ``recist_evaluate`` into dataclasses (RecistInputError when malformed)."""
    if not isinstance(data, dict):
        raise RecistInputError("top level must be a JSON object with 'lesions' and 'assessments'")
    settings = _parse_settings(data.get("settings", {}))
    lesions = [_parse_lesion(i, raw) for i, raw in enumerate(_list(data, "lesions", "request"))]
    assessments = [_parse_assessment(i, raw) for i, raw in enumerate(_list(data, "assessments", "request"))]
    return settings, lesions, assessments


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    if key not in obj:
        raise RecistInputError(f"{where}: missing key '{key}'")
    if not isinstance(obj[key], list):
        raise RecistInputError(f"{where}: '{key}' must be a list")
    return obj[key]


def _dict(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    if key not in obj:
        raise RecistInputError(f"{where}: missing key '{key}'")
    if not isinstance(obj[key], dict):
        raise RecistInputError(f"{where}: '{key}' must be an object")
    return obj[key]


def _parse_settings(raw: Any) -> Settings:
    if not isinstance(raw, dict):
        raise RecistInputError("settings must be an object")
    unknown = sorted(set(raw) - {"confirmation_days", "sd_minimum_days"})
    if unknown:
        raise RecistInputError(f"settings: unknown key(s) {', '.join(unknown)}")
    values = {}
    for key, default in (("confirmation_days", 28), ("sd_minimum_days", 42)):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RecistInputError(f"settings: {key} must be a non-negative integer, got {value!r}")
        values[key] = value
    return Settings(**values)


def _text(obj: dict[str, Any], key: str, where: str) -> str:
    if key not in obj:
        raise RecistInputError(f"{where}: missing key '{key}'")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise RecistInputError(f"{where}: '{key}' must be a non-empty string")
    return str(value)


def _flag(obj: dict[str, Any], key: str, where: str) -> bool:
    if key not in obj:
        raise RecistInputError(f"{where}: missing key '{key}'")
    if not isinstance(obj[key], bool):
        raise RecistInputError(f"{where}: '{key}' must be true or false")
    return obj[key]


def _mm(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise RecistInputError(f"{where}: measurement must be a number of mm or null, got {value!r}")
    if value < 0:
        raise RecistInputError(f"{where}: negative measurement {value} mm")
    return float(value)


def _parse_lesion(index: int, raw: Any) -> Lesion:
    where = f"lesions[{index}]"
    if not isinstance(raw, dict):
        raise RecistInputError(f"{where} must be an object")
    lid = _text(raw, "id", where)
    role = _text(raw, "role", f"lesion {lid}")
    if role not in ROLES:
        raise RecistInputError(f"lesion {lid}: role must be 'target' or 'non_target', got {role!r}")
    return Lesion(lid, role, _text(raw, "organ", f"lesion {lid}"), _flag(raw, "nodal", f"lesion {lid}"))


def _parse_assessment(index: int, raw: Any) -> Assessment:
    where = f"assessments[{index}]"
    if not isinstance(raw, dict):
        raise RecistInputError(f"{where} must be an object")
    date_text = _text(raw, "date", where)
    try:
        date = dt.date.fromisoformat(date_text)
    except ValueError:
        raise RecistInputError(f"{where}: date {date_text!r} is not YYYY-MM-DD") from None
    where = f"assessment {date}"
    target_mm = {str(k): _mm(v, f"{where}: target {k}") for k, v in _dict(raw, "target_mm", where).items()}
    non_target = {}
    for key, status in _dict(raw, "non_target", where).items():
        if status not in NT_STATUSES:
            raise RecistInputError(
                f"{where}: non-target {key} status {status!r} is not one of {', '.join(NT_STATUSES)}"
            )
        non_target[str(key)] = status
    new_raw = raw.get("new_lesions", [])
    if not isinstance(new_raw, list):
        raise RecistInputError(f"{where}: 'new_lesions' must be a list")
    new = tuple(_parse_new(where, i, item) for i, item in enumerate(new_raw))
    return Assessment(date, target_mm, non_target, new)


def _parse_new(where: str, index: int, raw: Any) -> NewLesion:
    here = f"{where}: new_lesions[{index}]"
    if not isinstance(raw, dict):
        raise RecistInputError(f"{here} must be an object")
    lid = _text(raw, "id", here)
    here = f"{where}: new lesion {lid}"
    return NewLesion(lid, _text(raw, "organ", here), _flag(raw, "nodal", here), _mm(raw.get("mm"), here))


def evaluate_request(data: Any) -> dict[str, Any]:
    """Parse a JSON request, evaluate it and return the JSON-ready answer."""
    settings, lesions, assessments = parse_request(data)
    return evaluate(lesions, assessments, settings).as_dict()
