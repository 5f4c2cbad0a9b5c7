"""List/detail/CSV/filters/pagination of the export resources, and constant query counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exports.api_routes import UNROUTED
from exports.resources import load_all
from tests import factories
from tests.exports.helpers import issue, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(coordinator, site_nl, other_coordinator, site_be):
    nl = [factories.enrol(coordinator, site_nl) for _ in range(2)]
    be = factories.enrol(other_coordinator, site_be)
    return nl, be


def test_every_resource_lists_as_json_and_csv_for_the_sponsor(three, sponsor, data_manager):
    _token, key = issue(data_manager, sponsor)
    client = token_client(key)
    for name, resource in load_all().items():
        if name in UNROUTED:
            continue
        response = client.get(f"/api/v1/export/{name}/")
        assert response.status_code == 200, (name, response.content[:300])
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        if body["results"]:
            assert list(body["results"][0])[: len(resource.columns)] == resource.csv_header()
        streamed = client.get(f"/api/v1/export/{name}/", {"format": "csv"})
        assert streamed.status_code == 200 and streamed.streaming, name
        rows = list(csv.reader(io.StringIO(b"".join(streamed.streaming_content).decode())))
        assert rows[0] == resource.csv_header()
        assert (
            len(rows) - 1 == resource.model.objects.filter(**resource.base_filter).count() or name == "sites"
        )


def test_csv_values_match_the_database(three, sponsor, data_manager):
    nl, be = three
    _t, key = issue(data_manager, sponsor)
    text = b"".join(
        token_client(key).get("/api/v1/export/participants/", HTTP_ACCEPT="text/csv").streaming_content
    ).decode()
    rows = {r["study_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {p.study_id for p in [*nl, be]}
    assert rows[be.study_id]["site"] == "BE01"
    assert rows[nl[0].study_id]["weight_kg"] == str(nl[0].weight_kg)
    assert rows[nl[0].study_id]["voided"] == "false"


def test_filters_participant_site_dates_and_changed_since(three, sponsor, data_manager, coordinator):
    nl, be = three
    _t, key = issue(data_manager, sponsor)
    client = token_client(key)
    visits = client.get("/api/v1/export/visits/", {"participant": nl[0].study_id, "page_size": 1000}).json()
    assert {v["participant"] for v in visits["results"]} == {nl[0].study_id}
    assert len(visits["results"]) == nl[0].visits.count()
    site = client.get("/api/v1/export/participants/", {"site": "BE01"}).json()["results"]
    assert [p["study_id"] for p in site] == [be.study_id]
    first = nl[0].visits.order_by("planned_date").first().planned_date
    dated = client.get(
        "/api/v1/export/visits/",
        {"planned_date_from": first.isoformat(), "planned_date_to": first.isoformat(), "page_size": 1000},
    ).json()
    assert dated["results"] and all(v["planned_date"] == first.isoformat() for v in dated["results"])
    dose = factories.record_tracer_dose(coordinator, nl[1])
    changed = client.get(
        "/api/v1/export/tracer-doses/", {"changed_since": dose.updated_at.isoformat()}
    ).json()
    assert [d["id"] for d in changed["results"]] == [dose.pk]
    assert changed["results"][0]["net_injected_mbq"] == "36.50"
    bad = client.get("/api/v1/export/visits/", {"planned_date_from": "yesterday"})
    assert bad.status_code == 400 and "planned_date_from" in bad.json()["errors"]


def test_cursor_pagination_is_stable_and_complete(three, sponsor, data_manager):
    _t, key = issue(data_manager, sponsor)
    client = token_client(key)
    url, ids = "/api/v1/export/visits/?page_size=7", []
    while url:
        body = client.get(url).json()
        ids.extend(v["id"] for v in body["results"])
        url = body["next"]
    from trial.models import Visit

    assert ids == sorted(ids) == list(Visit.objects.order_by("id").values_list("id", flat=True))


def test_participants_carry_their_status_history(three, sponsor, data_manager):
    nl, _be = three
    _t, key = issue(data_manager, sponsor)
    body = token_client(key).get(f"/api/v1/export/participants/{nl[0].pk}/").json()
    assert [h["to_status"] for h in body["status_history"]] == ["screening", "enrolled"]


@pytest.mark.parametrize("name", ["participants", "visits", "tracer-doses", "eligibility-answers"])
def test_query_count_per_page_is_constant(name, coordinator, site_nl, sponsor, data_manager):
    for _ in range(4):
        p = factories.enrol(coordinator, site_nl)
        factories.record_tracer_dose(coordinator, p)
    _t, key = issue(data_manager, sponsor)
    client = token_client(key)
    counts = []
    for size in (2, 40):
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(f"/api/v1/export/{name}/", {"page_size": size}).json()
        assert len(body["results"]) == min(size, load_all()[name].model.objects.count())
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_query_count_with_django_assert_num_queries(
    django_assert_num_queries, coordinator, site_nl, client, sponsor
):
    for _ in range(3):
        factories.enrol(coordinator, site_nl)
    client.force_login(sponsor)
    client.get("/api/v1/export/participants/", {"page_size": 1})  # warm-up (session, content types)
    # session + user + memberships(scope) + page + status history = 5, at both page sizes
    with django_assert_num_queries(5):
        assert len(client.get("/api/v1/export/participants/", {"page_size": 1}).json()["results"]) == 1
    with django_assert_num_queries(5):
        assert len(client.get("/api/v1/export/participants/", {"page_size": 3}).json()["results"]) == 3


def test_copy_fast_path_matches_the_row_by_row_writer(three, coordinator, sponsor, data_manager):
    """The COPY stream (PostgreSQL) and the Python writer (SQLite demo) give the same cells."""
    import json

    from exports import selectors
    from exports.csv_stream import stream_csv

    factories.record_tracer_dose(coordinator, three[0][0])
    _t, key = issue(data_manager, sponsor)
    client = token_client(key)
    compared = 0
    for name, resource in load_all().items():
        if name in UNROUTED:
            continue
        copied = b"".join(client.get(f"/api/v1/export/{name}/", {"format": "csv"}).streaming_content).decode()
        qs = selectors.base_queryset(resource, sponsor)
        python = b"".join(stream_csv(resource.csv_header(), selectors.csv_rows(resource, qs))).decode()
        a, b = list(csv.reader(io.StringIO(copied))), list(csv.reader(io.StringIO(python)))
        assert len(a) == len(b), name
        for row_a, row_b in zip(a, b):
            for x, y in zip(row_a, row_b):
                if x.startswith(("{", "[")):
                    assert json.loads(x) == json.loads(y), name
                else:
                    assert x == y, (name, x, y)
                compared += 1
    assert compared > 1000
