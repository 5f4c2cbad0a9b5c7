"""Site-isolation walk builders for the casebook pages (see tests/trial/test_site_isolation.py)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from casebook import services
from casebook.models import MedicalHistory
from tests import factories

SLUG = "medical-history"


def _condition(participant, user) -> int:
    record = services.record_create(
        ctx=factories.ctx_for(user),
        model=MedicalHistory,
        participant=participant,
        data={
            "term": "Hypertension",
            "meddra_code": "",
            "start_date": timezone.localdate() - dt.timedelta(days=400),
            "end_date": None,
            "ongoing": True,
            "autoimmune": False,
        },
    )
    return record.pk


def _record(participant, user) -> dict:
    return {"slug": SLUG, "pk": _condition(participant, user)}


def _list(participant, user) -> dict:
    return {"participant_pk": participant.pk, "slug": SLUG}


# The slug names the record kind; it must agree with the record's pk.
PATTERN_BUILDERS = {
    "casebook:record_list": _list,
    "casebook:record_new": _list,
    "casebook:record_edit": _record,
    "casebook:record_void": _record,
}

READ_ROLE_POSTS_ALLOWED: set[str] = set()
