"""Which PET scan belongs to which biopsy (no Django).

Rule: a biopsy matches a PET scan of the same period (baseline or on-treatment) whose date is
nearest to the biopsy date and at most `window_days` days away (before or after). Equal distances
are broken by the earlier scan date, then by the lower scan id, so the choice is deterministic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_WINDOW_DAYS = 21


@dataclass(frozen=True)
class ScanRef:
    id: int
    period: str
    date: dt.date


def describe_rule(window_days: int) -> str:
    return (
        f"A biopsy is matched to the PET scan of the same period (baseline or on-treatment) with the date "
        f"nearest to the biopsy date, at most {window_days} days before or after it; when two scans are "
        f"equally near, the earlier scan is used. Biopsies with no such scan are left unmatched."
    )


def match_scan(
    period: str, biopsy_date: dt.date, scans: Iterable[ScanRef], window_days: int
) -> ScanRef | None:
    """The matching scan, or None when no scan of the period lies within the window."""
    if window_days < 0:
        raise ValueError("The matching window must be zero or more days.")
    candidates = [s for s in scans if s.period == period and abs((s.date - biopsy_date).days) <= window_days]
    if not candidates:
        return None
    return min(candidates, key=lambda s: (abs((s.date - biopsy_date).days), s.date, s.id))
