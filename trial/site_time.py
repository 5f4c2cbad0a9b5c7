"""Site-local time: each site keeps its own wall clock (trial.models.Site.time_zone); the database keeps UTC.

`site_today(site)` is the calendar day at the site, `ensure_not_future(...)` the shared "no date after today"
rule, `format_site_time(value, site)` the display form ("2026-03-01 10:15 CET (Europe/Amsterdam)").
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone


def site_zone(site: Any) -> zoneinfo.ZoneInfo:
    """The site's zone; a Site, or anything carrying `.site` (a participant), or a zone name."""
    name = site if isinstance(site, str) else getattr(getattr(site, "site", site), "time_zone", "UTC")
    return zoneinfo.ZoneInfo(name)


def site_today(site: Any) -> dt.date:
    """Today's date on the site's wall clock."""
    return timezone.now().astimezone(site_zone(site)).date()


def site_local(value: dt.datetime, site: Any) -> dt.datetime:
    """An aware instant on the site's wall clock."""
    return value.astimezone(site_zone(site))


def site_date(value: dt.datetime, site: Any) -> dt.date:
    """The calendar day at the site on which an instant falls."""
    return site_local(value, site).date()


def format_site_time(value: dt.datetime | None, site: Any) -> str:
    """'2026-03-01 10:15 CET (Europe/Amsterdam)'; '' for no value."""
    if value is None:
        return ""
    zone = site_zone(site)
    local = value.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone.key})"


def ensure_not_future(site: Any, when: dt.date | None, field: str, label: str) -> None:
    """Refuse a date after today at the site, as an error on `field`."""
    today = site_today(site)
    if when is not None and when > today:
        raise ValidationError({field: f"{label} {when} is in the future (today at the site is {today})."})
