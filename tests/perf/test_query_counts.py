"""Query counts of the busy pages and API lists stay the same when the trial grows (issue 17).

The trial is generated with the scale loader (trial/scale.py, COPY): first 1 site, 2 participants and a few AEs,
measured; then 2 more sites, 4 more participants and many more AEs and audit updates, measured again. Every page
is requested once to warm caches (rendered plots), then counted. A page whose count grew has a query per row,
per site or per item somewhere: the assertion names the page and both counts.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from safety.models import AdverseEvent
from tests import factories
from trial.models import Participant, Role, Site
from trial.scale import ScaleLoader, ScalePlan

pytestmark = pytest.mark.django_db

PAGES = {
    "dashboard": "/",
    "participant list": "/participants/",
    "participant list, page 2": "/participants/?page=2",
    "AE list": "/safety/",
    "safety tables": "/safety/tables/",
    "imaging worklist": "/imaging/worklist/?bucket=upload",
    "lesions overview": "/lesions/",
    "participant page": "/participants/{pk}/",
    "analyses page": "/pathology/analyses/",
    "AE change feed": "/api/v1/export/adverse-events/changes/?since=0&page_size=5",
    "participant feed": "/api/v1/export/participants/changes/?since=0&page_size=5",
    "API adverse-events list": "/api/v1/adverse-events/?page_size=5",
    "API pet-scans list": "/api/v1/pet-scans/?page_size=5",
}


WARM_UP = {"analyses page", "safety tables"}  # figures cached per data version: count the cached view


def _load(sites: int, participants: int, aes: int, audit: int, seed: int) -> None:
    ScaleLoader(
        ScalePlan(sites, participants, aes, audit, scans=10_000, seed=seed, report=lambda _m: None)
    ).run()


def _counts(client) -> dict[str, int]:
    busiest = Participant.objects.annotate(n=Count("adverse_events")).order_by("-n", "id").first()
    for _ in range(2):  # the session is saved once after login: not a query of any page
        client.get("/")
    counts = {}
    for name, url in PAGES.items():
        url = url.replace("{pk}", str(busiest.pk))
        if name in WARM_UP:
            assert client.get(url).status_code == 200, name  # cached rows and plots are computed once
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200, name
        counts[name] = len(ctx.captured_queries)
    return counts


def test_page_and_api_query_counts_do_not_grow_with_the_trial(client, feed_reads_this_transaction):
    # feed_reads_this_transaction: both sizes count a full feed page, whatever other databases commit.
    _load(sites=1, participants=2, aes=40, audit=0, seed=1)
    # Every list holds rows at both sizes (an empty page skips its slice query, which is not a saving).
    assert (
        AdverseEvent.objects.filter(serious=True).exists()
        and AdverseEvent.objects.filter(immune_related=True).exists()
    )
    manager = factories.make_user("dana", (Site.objects.get(code="SC001"), Role.DATA_MANAGER))
    client.force_login(manager)
    small = _counts(client)
    _load(sites=2, participants=52, aes=200, audit=1000, seed=2)
    assert Participant.objects.count() == 54 and Site.objects.count() == 3
    large = _counts(client)
    grown = {name: (small[name], large[name]) for name in PAGES if large[name] != small[name]}
    assert client.get(PAGES["AE change feed"]).json()["results"], "the feed page is empty: nothing counted"
    assert grown == {}, f"query counts (small, large) that changed with the trial's size: {grown}"
