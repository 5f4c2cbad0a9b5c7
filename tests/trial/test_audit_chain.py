"""Tamper-evident audit trail: hash chain sealed after commit, concurrent writers, no deadlock with row locks,
the trigger letting only sealing through, audit_verify, TRUNCATE refused.

Tests marked plain `django_db` run inside one transaction that never commits, so on_commit seals do not run
there: they call `seal_pending()` themselves."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from tests import factories
from tests.db_roles import owner_role, regrant_after_migrating
from trial.audit import AuditContext, write_entry
from trial.audit_chain import GENESIS, entry_digest, pending_count, seal_pending, verify
from trial.models import AuditEntry, AuditSource, Site


def _tamper(sql: str, params: list) -> None:
    """Run SQL with the append-only triggers off, as the database owner (a superuser here)."""
    with owner_role(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(sql, params)
        cur.execute("SET LOCAL session_replication_role = origin")


def _run_verify() -> str:
    out = []

    class Sink:
        def write(self, text: str) -> None:
            out.append(text)

    call_command("audit_verify", stdout=Sink())
    return "".join(out)


@pytest.mark.django_db
def test_each_entry_hashes_its_content_and_links_to_the_one_before(participant, coordinator):
    assert AuditEntry.objects.filter(seq__isnull=True).count() >= 3  # written unsealed ...
    assert seal_pending() >= 3  # ... and sealed (after commit, in real use) in id order
    assert list(AuditEntry.objects.order_by("seq").values_list("id", flat=True)) == list(
        AuditEntry.objects.order_by("id").values_list("id", flat=True)
    )
    entries = list(AuditEntry.objects.order_by("seq"))
    assert len(entries) >= 3
    assert entries[0].seq == 1 and entries[0].prev_hash == GENESIS
    for before, entry in zip(entries, entries[1:], strict=False):
        assert entry.seq == before.seq + 1 and entry.prev_hash == before.entry_hash
    for entry in entries:
        assert len(entry.entry_hash) == 64 and entry.entry_hash == entry_digest(entry)
        entry.reason += "x"
        assert entry_digest(entry) != entry.entry_hash  # a changed column changes the hash
    assert verify(AuditEntry) == (len(entries), None)


@pytest.mark.django_db
def test_audit_verify_reports_an_intact_chain(participant):
    seal_pending()
    count = AuditEntry.objects.count()
    assert _run_verify().splitlines() == [
        "Unsealed audit entries: 0 (0 sealed now).",
        f"Audit chain intact: {count} entries checked.",
    ]


@pytest.mark.django_db
def test_audit_verify_reports_and_seals_pending_entries(participant, coordinator):
    seal_pending()
    sealed = AuditEntry.objects.count()
    for i in range(3):  # the test transaction never commits: these stay unsealed, like a missed seal
        write_entry(
            participant, ctx=factories.ctx_for(coordinator), action="update", changes={"n": [i, i + 1]}
        )
    assert pending_count() == 3
    out = []

    class Sink:
        def write(self, text: str) -> None:
            out.append(text)

    call_command("audit_verify", "--no-seal", stdout=Sink())
    assert "".join(out).splitlines() == [
        "Unsealed audit entries: 3 (not sealed: --no-seal).",
        f"Audit chain intact: {sealed} entries checked.",
    ]
    assert pending_count() == 3
    assert _run_verify().splitlines() == [
        "Unsealed audit entries: 3 (3 sealed now).",
        f"Audit chain intact: {sealed + 3} entries checked.",
    ]
    assert pending_count() == 0
    assert list(AuditEntry.objects.order_by("-seq").values_list("seq", flat=True)[:3]) == [
        sealed + 3,
        sealed + 2,
        sealed + 1,
    ]


@pytest.mark.django_db
def test_audit_verify_names_the_first_bad_entry_of_a_tampered_copy(participant, coordinator):
    for i in range(4):
        write_entry(
            participant, ctx=factories.ctx_for(coordinator), action="update", changes={"n": [i, i + 1]}
        )
    seal_pending()
    entries = list(AuditEntry.objects.order_by("seq"))
    changed, deleted = entries[-4], entries[-2]
    _tamper("UPDATE trial_auditentry SET changes = %s WHERE id = %s", ['{"n": [0, 99]}', changed.pk])
    _tamper("DELETE FROM trial_auditentry WHERE id = %s", [deleted.pk])
    with pytest.raises(CommandError) as first:
        call_command("audit_verify", "--chunk", "2")
    message = str(first.value)
    assert f"id={changed.pk} (seq {changed.seq})" in message and "content changed" in message
    assert "\n" not in message

    # With the altered row put back, the next fault is the entry after the deleted one.
    _tamper(
        "UPDATE trial_auditentry SET changes = %s WHERE id = %s", [json.dumps(changed.changes), changed.pk]
    )
    with pytest.raises(CommandError, match=rf"id={entries[-1].pk} \(seq {entries[-1].seq}\): entry missing"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_audit_verify_finds_a_rewritten_hash_as_a_broken_link(participant):
    seal_pending()
    entries = list(AuditEntry.objects.order_by("seq"))
    victim = entries[1]
    victim.reason = "rewritten"
    forged = entry_digest(victim)  # the forger recomputes the row's own hash ...
    _tamper(
        "UPDATE trial_auditentry SET reason = %s, entry_hash = %s WHERE id = %s",
        ["rewritten", forged, victim.pk],
    )
    # ... but the next entry still names the original hash.
    checked, fault = verify(AuditEntry)
    assert checked == 2 and fault.entry_id == entries[2].pk and "link broken" in fault.problem


def _refused_by_trigger(sql: str, params: list, op: str = "UPDATE") -> None:
    """The owner's UPDATE or DELETE is refused by the trigger itself (the app role lacks the privilege)."""
    with (
        owner_role(),
        pytest.raises(Exception, match=f"append-only: {op} is not allowed"),
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute(sql, params)


@pytest.mark.django_db
def test_the_trigger_lets_only_the_sealing_of_an_unsealed_row_through(participant, coordinator):
    seal_pending()
    sealed = AuditEntry.objects.order_by("-seq").first()
    hex64 = "a" * 64
    # A sealed row: its chain columns cannot be filled again, nor anything else changed.
    _refused_by_trigger(
        "UPDATE trial_auditentry SET seq = %s, prev_hash = %s, entry_hash = %s WHERE id = %s",
        [sealed.seq + 100, hex64, hex64, sealed.pk],
    )
    _refused_by_trigger("UPDATE trial_auditentry SET entry_hash = %s WHERE id = %s", [hex64, sealed.pk])
    _refused_by_trigger("UPDATE trial_auditentry SET reason = 'x' WHERE id = %s", [sealed.pk])

    entry = write_entry(
        participant, ctx=factories.ctx_for(coordinator), action="update", changes={"n": [1, 2]}
    )
    assert AuditEntry.objects.filter(pk=entry.pk, seq__isnull=True).exists()
    # An unsealed row: no other column may change, not even together with the sealing ...
    for column, value in (
        ("reason", "x"),
        ("changes", '{"n": [1, 3]}'),
        ("at", "2020-01-01T00:00:00Z"),
        ("txid", 1),
        ("user_display", "someone"),
    ):
        _refused_by_trigger(f"UPDATE trial_auditentry SET {column} = %s WHERE id = %s", [value, entry.pk])
        _refused_by_trigger(
            f"UPDATE trial_auditentry SET seq = %s, prev_hash = %s, entry_hash = %s, {column} = %s"
            " WHERE id = %s",
            [sealed.seq + 1, hex64, hex64, value, entry.pk],
        )
    # ... the chain columns must be filled with a position and two hashes ...
    _refused_by_trigger("UPDATE trial_auditentry SET prev_hash = %s WHERE id = %s", [hex64, entry.pk])
    _refused_by_trigger(
        "UPDATE trial_auditentry SET seq = %s, prev_hash = '', entry_hash = '' WHERE id = %s",
        [sealed.seq + 1, entry.pk],
    )
    _refused_by_trigger("DELETE FROM trial_auditentry WHERE id = %s", [entry.pk], op="DELETE")
    # ... and exactly the sealing goes through.
    assert seal_pending() == 1
    entry.refresh_from_db()
    assert entry.seq == sealed.seq + 1 and entry.prev_hash == sealed.entry_hash
    assert verify(AuditEntry) == (AuditEntry.objects.count(), None)


@pytest.mark.django_db
def test_truncate_of_the_audit_table_is_refused(participant):
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred FK checks of the fixtures first
        cur.execute("SET LOCAL cd8pet.allow_audit_truncate = 'off'")  # as in production
    with (
        pytest.raises(Exception, match="TRUNCATE is not allowed"),
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute("TRUNCATE trial_auditentry")
    assert AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    site = factories.make_site("NL01", "Amsterdam UMC", "NL", "Europe/Amsterdam")
    start_count = AuditEntry.objects.count()
    writers, per_writer = 6, 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            target = Site.objects.get(pk=site.pk)
            ctx = AuditContext.system(source=AuditSource.WORKER)
            for i in range(per_writer):
                with transaction.atomic():  # two entries per transaction half of the time
                    write_entry(target, ctx=ctx, action="update", changes={"w": [n, i]})
                    if i % 2:
                        write_entry(target, ctx=ctx, action="update", changes={"w2": [n, i]})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    expected = start_count + writers * (per_writer + per_writer // 2)
    assert AuditEntry.objects.count() == expected
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, expected + 1)
    )
    assert AuditEntry.objects.values("prev_hash").distinct().count() == expected  # no two share a predecessor
    assert verify(AuditEntry, chunk=7) == (expected, None)


@pytest.mark.django_db(transaction=True)
def test_an_audit_write_before_a_row_lock_does_not_deadlock_with_a_row_lock_before_an_audit_write():
    """A audits, then wants the row B holds; B, holding it, audits and commits. With the chain head locked
    from the first audit write to commit (the old design), A held the head while waiting for B's row and B
    waited for the head: PostgreSQL aborted one of them. Sealed after commit, both go through.

    A audits another object than the row it then waits for: an audit entry also upserts its object's row in
    trial_auditlatest, so the app always locks (writes) an object before auditing it, never the reverse."""
    site = factories.make_site("NL01", "Amsterdam UMC", "NL", "Europe/Amsterdam")
    other_site = factories.make_site("BE01", "UZ Leuven", "BE", "Europe/Brussels")
    start_count = AuditEntry.objects.count()
    b_holds_row, a_audited = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    done: list[str] = []
    ctx = AuditContext.system(source=AuditSource.WORKER)

    def thread_a() -> None:
        try:
            assert b_holds_row.wait(timeout=30)
            with transaction.atomic():
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL lock_timeout = '20s'")  # a hang fails the test instead
                write_entry(other_site, ctx=ctx, action="update", changes={"a": [0, 1]})
                a_audited.set()
                Site.objects.select_for_update().get(pk=site.pk)  # waits for B's commit
            done.append("A")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            a_audited.set()
            connection.close()

    def thread_b() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL lock_timeout = '20s'")
                locked = Site.objects.select_for_update().get(pk=site.pk)
                b_holds_row.set()
                assert a_audited.wait(timeout=30)
                time.sleep(0.3)  # let A reach its row lock wait
                write_entry(locked, ctx=ctx, action="update", changes={"b": [0, 1]})
            done.append("B")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            b_holds_row.set()
            connection.close()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not errors, errors
    assert sorted(done) == ["A", "B"]
    expected = start_count + 2
    assert AuditEntry.objects.count() == expected and pending_count() == 0
    assert verify(AuditEntry) == (expected, None)


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_chain_existed_are_chained_by_the_migration():
    with owner_role():  # migrations run as the owner
        call_command("migrate", "trial", "0003_record_versions", verbosity=0)
        try:
            with connection.cursor() as cur:
                for n in range(3):
                    cur.execute(
                        "INSERT INTO trial_auditentry (at, user_display, action, app_label, model, object_id,"
                        " object_repr, changes, reason, source, request_id)"
                        " VALUES (now(), 'system', 'create', 'trial', 'site', %s, '', %s, '', 'system', '')",
                        [str(n), json.dumps({"n": [None, n + 0.5]})],
                    )
        finally:
            call_command(
                "migrate", verbosity=0
            )  # every app: going back also unapplied the apps built on trial
    regrant_after_migrating()  # migrating back and forth re-created tables the app role had been granted
    seqs = list(AuditEntry.objects.order_by("id").values_list("seq", flat=True))
    assert len(seqs) >= 3 and seqs == list(range(1, len(seqs) + 1))  # chained in id order
    assert verify(AuditEntry) == (len(seqs), None)
