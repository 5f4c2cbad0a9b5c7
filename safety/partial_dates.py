"""ISO 8601 partial dates (year, year-month or full date) as used for AE onset and end (SDTM --DTC)."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

YEAR, MONTH, DAY = "year", "month", "day"
PRECISIONS = (YEAR, MONTH, DAY)
_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class PartialDateError(ValueError):
    """A value that is not YYYY, YYYY-MM or YYYY-MM-DD."""


@dataclass(frozen=True)
class PartialDate:
    year: int
    month: int | None = None
    day: int | None = None

    @property
    def precision(self) -> str:
        if self.day is not None:
            return DAY
        return MONTH if self.month is not None else YEAR

    @property
    def earliest(self) -> dt.date:
        """First calendar day the value may denote."""
        return dt.date(self.year, self.month or 1, self.day or 1)

    @property
    def latest(self) -> dt.date:
        """Last calendar day the value may denote."""
        if self.day is not None:
            return dt.date(self.year, self.month, self.day)
        month = self.month or 12
        return dt.date(self.year, month, calendar.monthrange(self.year, month)[1])

    def iso(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text

    def __str__(self) -> str:
        return self.iso()


def parse(value: str) -> PartialDate:
    """Parse 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD'; raise PartialDateError with a readable message."""
    text = (value or "").strip()
    match = _PATTERN.match(text)
    if not match:
        raise PartialDateError(f"'{text}' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD.")
    year, month, day = (int(g) if g else None for g in match.groups())
    if year < 1900:
        raise PartialDateError(f"The year {year} is not plausible.")
    if month is not None and not 1 <= month <= 12:
        raise PartialDateError(f"'{text}': the month must be 01 to 12.")
    if day is not None:
        try:
            dt.date(year, month, day)
        except ValueError as exc:
            raise PartialDateError(f"'{text}' is not a calendar date.") from exc
    return PartialDate(year, month, day)


def definitely_before(a: PartialDate, b: PartialDate) -> bool:
    """True when every day `a` may denote lies before every day `b` may denote."""
    return a.latest < b.earliest


def from_date(value: dt.date) -> PartialDate:
    return PartialDate(value.year, value.month, value.day)
