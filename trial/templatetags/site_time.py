"""`{% load site_time %}{{ dose.administered_at|site_time:participant.site }}`: a UTC instant on the site's clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from trial.site_time import format_site_time

register = template.Library()


@register.filter(name="site_time")
def site_time(value: dt.datetime | None, site: Any) -> str:
    """'2026-03-01 10:15 CET (Europe/Amsterdam)'; '' for no value."""
    return format_site_time(value, site)
