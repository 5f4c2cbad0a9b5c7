"""Reading element values the same way from pydicom datasets and from the fast scanner's raw bytes."""

from __future__ import annotations

from typing import Any

import pydicom


def text_value(ds: Any, keyword: str) -> str | None:
    """A stripped text value (None when absent or empty)."""
    value = ds.get(keyword)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def float_value(value: Any) -> float | None:
    """A number, or None when absent, empty or not numeric."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def nonempty(value: Any) -> str | None:
    """``str(value).strip()`` or None when that is empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def comparison_key(ds: Any, keyword: str) -> tuple[str, ...] | None:
    """Series-level comparison key: the value as a tuple of stripped strings (None if absent)."""
    value = ds.get(keyword)
    if value is None:
        return None
    if isinstance(value, pydicom.multival.MultiValue | list | tuple):
        return tuple(str(v).strip() for v in value)
    return (str(value).strip(),)


def raw_bytes(ds: Any, tag: Any) -> Any:
    """Undecoded value bytes of an element (fast comparison key); decoded values as a tagged tuple."""
    elem = ds.get_item(tag)
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, bytes):
        return value
    return ("decoded", repr(value))


def raw_text(ds: Any, tag: Any) -> str | None:
    """A text element's value without pydicom's conversion (None if absent or empty)."""
    elem = ds.get_item(tag)
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, bytes):
        text = value.decode("latin-1").strip(" \x00")
    elif value is None:
        return None
    elif isinstance(value, pydicom.multival.MultiValue | list | tuple):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value).strip()
    return text or None
