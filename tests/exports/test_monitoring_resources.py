"""The sponsor export resources "queries" and "sdv-status": listed and in the change feed like the others, and
scoped to the caller's sites in both."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from monitoring import services as monitoring_services
from queries import services as query_services
from tests import factories
from trial.models import Role

pytestmark = pytest.mark.django_db


def _get(user, url: str) -> list[dict]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return response.json()["results"]


def _feed(user, url: str) -> list[dict]:
    return _get(user, url)


@pytest.fixture(autouse=True)
def _feed_sees_this_transaction(feed_reads_this_transaction):
    """The feed is read inside this test's open transaction (see the fixture)."""


def test_queries_and_sdv_status_are_listed_and_fed_per_site(
    participant, site_nl, site_be, monitor, sponsor, other_coordinator
):
    monitor_be = factories.make_user("mobe", (site_be, Role.MONITOR))
    participant_be = factories.enrol(other_coordinator, site_be)
    for who, subject in ((monitor, participant), (monitor_be, participant_be)):
        ctx = factories.ctx_for(who)
        query_services.query_raise(
            ctx=ctx, resource="participants", object_id=subject.pk, field="weight_kg", text="Weight?"
        )
        monitoring_services.sdv_mark(ctx=ctx, resource="participants", object_id=subject.pk, fields=["sex"])

    everywhere = _feed(sponsor, "/api/v1/export/sdv-status/changes/")  # the sponsor reads every site
    assert sorted(c["record"]["site"] for c in everywhere) == ["BE01", "NL01"]
    for user, site, subject in ((monitor, "NL01", participant), (other_coordinator, "BE01", participant_be)):
        queries = _get(user, "/api/v1/export/queries/")
        assert [(r["site"], r["participant"], r["field"], r["status"]) for r in queries] == [
            (site, subject.study_id, "weight_kg", "open")
        ]
        marks = _get(user, "/api/v1/export/sdv-status/")
        assert [(r["site"], r["participant"], r["field"], r["cleared_at"]) for r in marks] == [
            (site, subject.study_id, "sex", None)
        ]
        query_feed = _feed(user, "/api/v1/export/queries/changes/")
        assert [(c["action"], c["record"]["site"]) for c in query_feed] == [("create", site)]
        sdv_feed = _feed(user, "/api/v1/export/sdv-status/changes/")
        assert [(c["action"], c["record"]["site"], c["record"]["field"]) for c in sdv_feed] == [
            ("create", site, "sex")
        ]
