"""Incremental sync: since-cursor, tombstones, dedup, out-of-order commits and concurrent writers."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time

import pytest
from django.db import connection, transaction

from exports.cursor import CursorError, Position, decode
from tests import factories
from tests.exports.helpers import issue, pull_all, token_client
from trial import services
from trial.models import AuditEntry, Visit

pytestmark = pytest.mark.django_db(transaction=True)


def test_cursor_round_trip_and_errors():
    assert decode(Position(123, 456).encode()) == Position(123, 456)
    assert decode("0") == decode("") == decode(None) == Position(0, 0)
    for bad in ("nonsense", Position(1, 2).encode()[:-3] + "!!", "djI6MTox"):
        with pytest.raises(CursorError, match="Invalid cursor"):
            decode(bad)


@pytest.fixture
def feed(participant, sponsor, data_manager):
    return token_client(issue(data_manager, sponsor)[1])


def test_since_returns_changes_tombstones_and_next_cursor(feed, participant, coordinator):
    items, cursor = pull_all(feed, "visits")
    assert {i["id"] for i in items} == set(participant.visits.values_list("id", flat=True))
    assert all(i["record"]["participant"] == participant.study_id for i in items)
    assert pull_all(feed, "visits", cursor)[0] == []  # nothing new: nothing repeated

    ctx = factories.ctx_for(coordinator)
    visit = participant.visits.order_by("id")[3]
    other = participant.visits.order_by("id")[4]
    for days in (1, 2, 3):  # three updates of one visit -> one item with the latest state
        services.visit_replan(
            ctx=ctx,
            visit=visit,
            planned_date=visit.planned_date + dt.timedelta(days=1),
            reason=f"move {days}",
        )
    services.record_void(ctx=ctx, instance=other, reason="entered in error")
    items, cursor2 = pull_all(feed, "visits", cursor)
    by_id = {i["id"]: i for i in items}
    assert len(items) == 2
    assert by_id[visit.pk]["record"]["planned_date"] == visit.planned_date.isoformat()
    assert by_id[visit.pk]["action"] == "update"
    assert by_id[other.pk] == {**by_id[other.pk], "voided": True, "record": None, "action": "void"}

    services.record_restore(ctx=ctx, instance=other, reason="voided by mistake")
    items, cursor3 = pull_all(feed, "visits", cursor2)
    assert [(i["id"], i["voided"], i["action"]) for i in items] == [(other.pk, False, "restore")]
    assert items[0]["record"]["code"] == other.code
    assert pull_all(feed, "visits", cursor3)[0] == []
    bad = feed.get("/api/v1/export/visits/changes/", {"since": "garbage"})
    assert bad.status_code == 400 and "since" in bad.json()["errors"]


def test_feed_is_scoped_to_the_tokens_sites(participant, other_coordinator, site_be, data_manager):
    factories.enrol(other_coordinator, site_be)
    items, _ = pull_all(token_client(issue(data_manager, other_coordinator)[1]), "participants")
    assert {i["record"]["site"] for i in items} == {"BE01"}


def test_a_transaction_that_started_first_but_commits_last_is_not_missed(feed, participant, coordinator):
    """Audit ids follow commit order (the hash chain serialises audit writes), but txids follow start order:
    a transaction that took its txid before another and writes its audit entry after it is held back by the
    horizon until it commits, then delivered once."""
    _items, cursor = pull_all(feed, "visits")
    ctx = factories.ctx_for(coordinator)
    slow_visit, fast_visit = participant.visits.order_by("id")[2], participant.visits.order_by("id")[5]
    started, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                with connection.cursor() as cur:
                    cur.execute("SELECT txid_current()")  # its txid now: older than the fast writer's
                started.set()
                release.wait(30)  # writes and commits only after the fast writer and a pull
                services.visit_replan(
                    ctx=ctx,
                    visit=Visit.objects.get(pk=slow_visit.pk),
                    planned_date=slow_visit.planned_date + dt.timedelta(days=2),
                    reason="slow",
                )
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert started.wait(30)
    services.visit_replan(
        ctx=ctx, visit=fast_visit, planned_date=fast_visit.planned_date + dt.timedelta(days=1), reason="fast"
    )  # commits first, with a larger txid than the open slow transaction

    # While the slow transaction is open the feed holds back (the fast change is above the horizon).
    held, cursor_mid = pull_all(feed, "visits", cursor)
    assert held == [] and cursor_mid == cursor
    release.set()
    assert done.wait(30)
    thread.join()

    items, _ = pull_all(feed, "visits", cursor_mid)
    assert [i["id"] for i in items] == [slow_visit.pk, fast_visit.pk]  # both, once each, in txid order


def test_concurrent_writers_never_miss_or_repeat(feed, participant, coordinator, site_nl):
    second = factories.enrol(coordinator, site_nl)
    _items, cursor = pull_all(feed, "visits")
    visits = list(Visit.objects.order_by("id").values_list("id", flat=True))
    ctx = factories.ctx_for(coordinator)
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int):
        rng = random.Random(seed)
        try:
            for _ in range(12):
                with transaction.atomic():
                    visit = Visit.objects.select_for_update().get(pk=rng.choice(visits))
                    choice = rng.random()
                    if visit.voided:
                        services.record_restore(ctx=ctx, instance=visit, reason="restore")
                    elif choice < 0.2:
                        services.record_void(ctx=ctx, instance=visit, reason="void")
                    else:
                        services.visit_replan(
                            ctx=ctx,
                            visit=visit,
                            reason="move",
                            planned_date=visit.planned_date + dt.timedelta(days=1),
                        )
                    time.sleep(rng.uniform(0, 0.05))  # keep the transaction open: commits interleave
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    returned: list[dict] = []
    while any(t.is_alive() for t in threads):
        items, cursor = pull_all(feed, "visits", cursor, page_size=5)
        returned.extend(items)
        time.sleep(0.01)
    for t in threads:
        t.join()
    stop.set()
    assert not errors, errors
    items, cursor = pull_all(feed, "visits", cursor, page_size=5)
    returned.extend(items)

    positions = [decode(i["cursor"]) for i in returned]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)  # never repeats
    # never misses: every visit change is covered by a returned item of that visit at or after it
    latest_returned: dict[int, Position] = {}
    for item, pos in zip(returned, positions):
        latest_returned[item["id"]] = pos
    changed = AuditEntry.objects.filter(
        model="visit", action__in=["update", "void", "restore"], id__gt=0
    ).values_list("object_id", "txid", "id")
    start = decode(_items and _items[-1]["cursor"] or "0")
    missed = [
        (o, t, i)
        for o, t, i in changed
        if Position(t, i) > start and latest_returned.get(int(o), Position(-1, -1)) < Position(t, i)
    ]
    assert not missed, missed
    # and the last state seen equals the database
    last_seen = {i["id"]: i for i in returned}
    for visit in Visit.objects.filter(pk__in=last_seen):
        item = last_seen[visit.pk]
        assert item["voided"] == visit.voided
        if not visit.voided:
            assert item["record"]["planned_date"] == visit.planned_date.isoformat()
    assert len(returned) >= len(last_seen) > 3
    assert second.pk


def test_change_feed_query_count_does_not_grow_with_page_size(feed, participant):
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (2, 15):
        with CaptureQueriesContext(connection) as ctx:
            body = feed.get("/api/v1/export/participants/changes/", {"since": "0", "page_size": size}).json()
            visits = feed.get("/api/v1/export/visits/changes/", {"since": "0", "page_size": size}).json()
        assert len(visits["results"]) == size and body["results"]
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
