"""Valid casebook form data for tests: a medication and a laboratory result, with overrides."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

TODAY = timezone.localdate()


def med(**over):
    return {
        "category": "concomitant",
        "name": "Prednisolone",
        "indication": "Arthritis",
        "dose": Decimal("5"),
        "dose_unit": "mg",
        "route": "oral",
        "frequency": "once daily",
        "start_date": TODAY - dt.timedelta(days=40),
        "end_date": None,
        "ongoing": True,
        "is_systemic_steroid": True,
        "whodrug_code": "",
        "atc_code": "h02ab06",
    } | over


def lab(**over):
    return {
        "visit": None,
        "panel": "haematology",
        "collected_on": TODAY - dt.timedelta(days=3),
        "test_code": "NEUT",
        "value": Decimal("0.9"),
        "unit": "10^9/L",
        "lln": Decimal("1.8"),
        "uln": Decimal("7.5"),
        "is_baseline": False,
    } | over
