"""DICOM dates and times as wall-clock values and as absolute instants (pure Python, no Django).

Wall clock: DA/TM/DT carry no zone, so they are read as wall-clock datetimes carried as UTC-aware values
(how the rest of quant.pet compares them). Instants: an elapsed time (injection -> reference) is computed
between absolute instants, each from, in this order, the offset written in its DT value ("&ZZXX"), the
header's TimezoneOffsetFromUTC, else the site's time zone (IANA name; DST-aware at each instant), else
the wall clock itself (a warning says the interval may be off by a DST change).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone

from quant.errors import SuvError

_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})$")


def parse_da(text: str | None) -> tuple[int, int, int] | None:
    """DICOM DA (YYYYMMDD, also legacy YYYY.MM.DD) -> (y, m, d)."""
    if not text:
        return None
    digits = re.sub(r"[^0-9]", "", str(text))
    if len(digits) != 8:
        raise SuvError(f"unreadable DICOM date {text!r}")
    return int(digits[:4]), int(digits[4:6]), int(digits[6:8])


def parse_tm(text: str | None) -> timedelta | None:
    """DICOM TM (HHMMSS.ffffff, partial forms and legacy HH:MM:SS) -> time since midnight."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip().replace(":", "")
    match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?", raw)
    if not match:
        raise SuvError(f"unreadable DICOM time {text!r}")
    hours, minutes, seconds, frac = match.groups()
    total = int(hours) * 3600 + int(minutes or 0) * 60 + int(seconds or 0) + float(frac or 0.0)
    if total >= 86400 + 1:
        raise SuvError(f"DICOM time out of range {text!r}")
    return timedelta(seconds=total)


def combine(date_text: str | None, time_text: str | None) -> datetime | None:
    """DA + TM -> wall-clock datetime (UTC-aware), None if either is missing."""
    date_parts, time_part = parse_da(date_text), parse_tm(time_text)
    if date_parts is None or time_part is None:
        return None
    return datetime(*date_parts, tzinfo=UTC) + time_part


def parse_dt(text: str | None) -> datetime | None:
    """DICOM DT (YYYYMMDDHHMMSS.ffffff&ZZXX); the zone suffix is ignored (wall clock)."""
    if text is None or not str(text).strip():
        return None
    raw = re.split(r"[+-]", str(text).strip())[0]
    match = re.fullmatch(r"(\d{8})(\d{2,6}(?:\.\d{1,6})?)?", raw)
    if not match:
        raise SuvError(f"unreadable DICOM datetime {text!r}")
    date_text, time_text = match.groups()
    return combine(date_text, time_text or "000000")


def parse_iso(text: str) -> datetime:
    """ISO 8601 -> wall-clock datetime (a zone, if any, is dropped: DICOM times are local)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise SuvError(f"injection time {text!r} is not ISO 8601 (e.g. 2025-01-01T10:00:00)") from exc
    return value.replace(tzinfo=UTC)


def parse_offset(text: str | None) -> timezone | None:
    """ "+HHMM"/"-HHMM" (TimezoneOffsetFromUTC or a DT suffix) -> fixed offset; None when absent."""
    if text is None or not str(text).strip():
        return None
    match = _OFFSET.match(str(text).strip())
    if not match:
        raise SuvError(f"unreadable UTC offset {text!r} (expected +HHMM or -HHMM)")
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14):
        raise SuvError(f"UTC offset {text!r} out of range")
    return timezone(-delta if sign == "-" else delta)


def dt_offset(text: str | None) -> timezone | None:
    """The offset suffix of a DICOM DT value, or None."""
    if text is None:
        return None
    match = re.search(r"([+-]\d{4})$", str(text).strip())
    return parse_offset(match.group(1)) if match else None


def to_instant(
    wall: datetime, *, own_offset: timezone | None, header_offset: timezone | None, site_tz: str | None
) -> tuple[datetime, str]:
    """Absolute instant (UTC) of a wall-clock value and which zone rule gave it."""
    naive = wall.replace(tzinfo=None)
    if own_offset is not None:
        return naive.replace(tzinfo=own_offset).astimezone(UTC), "offset in the DT value"
    if header_offset is not None:
        return naive.replace(tzinfo=header_offset).astimezone(UTC), "TimezoneOffsetFromUTC"
    if site_tz:
        try:
            zone = zoneinfo.ZoneInfo(site_tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise SuvError(f"unknown time zone {site_tz!r}") from exc
        return naive.replace(tzinfo=zone).astimezone(UTC), f"site time zone {site_tz}"
    return naive.replace(tzinfo=UTC), "wall clock (no zone known)"
