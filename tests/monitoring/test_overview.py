"""The data manager's overview (constant SQL whatever the trial size); queries on a locked casebook."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring import overview
from monitoring import services as monitoring_services
from queries import services as query_services
from tests import factories
from tests.factories import PASSWORD
from trial.write_gate import RecordLocked

pytestmark = pytest.mark.django_db


def _overview_queries(user) -> int:
    with CaptureQueriesContext(connection) as captured:
        overview.overview(user)
    return len(captured)


def test_the_overview_shows_queries_by_age_sdv_overdue_visits_and_locked_casebooks_in_constant_sql(
    make_ae,
    coordinator,
    site_nl,
    site_be,
    other_coordinator,
    monitor,
    data_manager,
    investigator,
    lock_casebook,
    client_for,
):
    ae = make_ae("Fatigue")
    query_services.query_raise(
        ctx=factories.ctx_for(monitor),
        resource="adverse-events",
        object_id=ae.pk,
        field="grade",
        text="Grade?",
    )
    lock_casebook(ae.participant)
    # queries are raised and answered on the locked casebook; a correction inside the answer is refused
    query = query_services.query_raise(
        ctx=factories.ctx_for(monitor),
        resource="adverse-events",
        object_id=ae.pk,
        field="grade",
        text="Grade 2?",
    )
    with pytest.raises(RecordLocked):
        query_services.query_answer(ctx=factories.ctx_for(coordinator), query=query, text="Yes", new_value=2)
    query.refresh_from_db()
    assert query.status == "open"
    answered = query_services.query_answer(
        ctx=factories.ctx_for(coordinator), query=query, text="Source says 1"
    )
    assert answered.status == "answered"
    ae.refresh_from_db()
    assert ae.version == 1
    # a locked casebook is not signed any more (signing belongs before the lock)
    with pytest.raises(ValidationError, match="locked"):
        monitoring_services.casebook_sign(
            ctx=factories.ctx_for(investigator),
            participant=ae.participant,
            password=PASSWORD,
            meaning="complete",
        )
    small = _overview_queries(data_manager)
    # enrolled 120 days ago: the early visits' windows have closed and they were never recorded
    late = factories.enrol(
        other_coordinator, site_be, enrolment_date=timezone.localdate() - dt.timedelta(days=120)
    )
    factories.enrol(coordinator, site_nl)
    assert _overview_queries(data_manager) == small
    data = overview.overview(data_manager)
    assert data["queries"]["rows"][0]["site"] == "NL01" and data["queries"]["rows"][0]["ages"][0] == 2
    assert [lock.participant_id for lock in data["casebook_locks"]] == [ae.participant_id]
    assert any(v.participant_id == late.pk for v in data["overdue"])
    assert dict(data["overdue_by_site"]).get("BE01", 0) >= 1
    page = client_for(data_manager).get("/monitoring/overview/")
    html = page.content.decode()
    assert page.status_code == 200 and late.study_id in html and ae.participant.study_id in html
    assert client_for(coordinator).get("/monitoring/overview/").status_code == 403
