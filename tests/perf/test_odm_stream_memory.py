"""The ODM Transactional file's user list reads one row per user, not one per audit entry (issue 17): a DISTINCT
over a queryset that keeps the entries' cursor ordering selects the ordering columns too, so it returned every
audit entry (1,000,000 rows at trial size: the file's peak memory went from ~30 MB to ~230 MB above idle).
Committed (transaction=True): the file reads only finished transactions."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exports import odm_stream
from tests import factories
from trial.models import Role, Site
from trial.scale import ScaleLoader, ScalePlan

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_user_list_of_the_transactional_file_is_one_row_per_user():
    ScaleLoader(ScalePlan(1, 3, 100, 2_000, scans=0, seed=7, report=lambda _m: None)).run()
    user = factories.make_user("dana", (Site.objects.get(), Role.DATA_MANAGER))
    scope = odm_stream.Scope(user=user, site_ids=None)
    with CaptureQueriesContext(connection) as queries:
        chunks, _position = odm_stream.transactional(scope, timezone.now())
        body = b"".join(chunks)
    user_lists = [
        q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"] and "user_display" in q["sql"]
    ]
    assert user_lists, "the user list query was not found"
    assert all("ORDER BY" not in sql for sql in user_lists), user_lists[0]
    assert b"<User OID=" in body
