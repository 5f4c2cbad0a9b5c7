"""The app's PostgreSQL role may only INSERT and SELECT audit rows and fill the chain columns of an unsealed
one (sealing), whatever it tries (grant_app_role)."""

from __future__ import annotations

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from tests.db_roles import owner_role
from trial.models import AuditEntry

ROLE = "cd8pet_app_test"
AUDIT = "trial_auditentry"


def _app_connection() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"], port=s["PORT"] or 5432, dbname=s["NAME"], user=ROLE)


def _refused(conn: psycopg.Connection, sql: str) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as denied, conn.transaction():
        conn.execute(sql)
    return str(denied.value)


@pytest.mark.django_db(transaction=True)
def test_the_app_role_cannot_change_or_remove_audit_rows_even_with_triggers_off(participant):
    with owner_role():  # as `make db-roles` does after migrate
        call_command("grant_app_role", app_url=f"postgres://{ROLE}@127.0.0.1/x")
    entry = AuditEntry.objects.order_by("seq").first()
    with _app_connection() as conn:
        conn.autocommit = True
        assert (
            conn.execute("SELECT count(*) FROM trial_auditentry").fetchone()[0] == AuditEntry.objects.count()
        )
        conn.execute("UPDATE trial_site SET name = name")  # an ordinary table: read/write
        for sql in (
            f"UPDATE trial_auditentry SET reason = 'x' WHERE id = {entry.pk}",
            f"DELETE FROM trial_auditentry WHERE id = {entry.pk}",
            "TRUNCATE trial_auditentry",
            "SET session_replication_role = replica",
            "ALTER TABLE trial_auditentry DISABLE TRIGGER ALL",
        ):
            message = _refused(conn, sql)
            assert "permission denied" in message or "must be owner" in message
        # The chain columns are granted for sealing, but the trigger refuses them on a sealed row.
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"), conn.transaction():
            conn.execute(f"UPDATE trial_auditentry SET seq = seq + 1000000 WHERE id = {entry.pk}")
        with conn.transaction(force_rollback=True):
            conn.execute(
                "INSERT INTO trial_auditentry (at, user_display, action, app_label, model, object_id, object_repr,"
                " changes, reason, source, request_id, seq, prev_hash, entry_hash)"
                " VALUES (now(), 'x', 'create', 'trial', 'site', '1', '', '{}', '', 'system', '', 999999, '', '')"
            )
        # An unsealed row, as `append` writes it: the role can seal it, and change nothing else.
        hex64 = "b" * 64
        with conn.transaction(force_rollback=True):
            pending = conn.execute(
                "INSERT INTO trial_auditentry (at, user_display, action, app_label, model, object_id, object_repr,"
                " changes, reason, source, request_id, seq, prev_hash, entry_hash)"
                " VALUES (now(), 'x', 'create', 'trial', 'site', '1', '', '{}', '', 'system', '', NULL, '', '')"
                " RETURNING id"
            ).fetchone()[0]
            for sql in (
                f"UPDATE trial_auditentry SET reason = 'x' WHERE id = {pending}",
                f"UPDATE trial_auditentry SET seq = 999998, reason = 'x' WHERE id = {pending}",
                f"DELETE FROM trial_auditentry WHERE id = {pending}",
                "TRUNCATE trial_auditentry",
            ):
                assert "permission denied" in _refused(conn, sql)
            sealed = conn.execute(
                f"UPDATE trial_auditentry SET seq = 999998, prev_hash = '{hex64}', entry_hash = '{hex64}'"
                f" WHERE id = {pending} AND seq IS NULL"
            )
            assert sealed.rowcount == 1
    entry.refresh_from_db()
    assert entry.reason != "x"


@pytest.mark.django_db
def test_grant_app_role_refuses_bad_input_with_one_line():
    with pytest.raises(CommandError, match="user name"):
        call_command("grant_app_role", app_url="postgres://Robert';DROP@127.0.0.1/x")
    with pytest.raises(CommandError, match="must not be the owner"):
        call_command("grant_app_role", app_url=f"postgres://{connection.settings_dict['USER']}@127.0.0.1/x")


@pytest.mark.django_db
def test_make_test_runs_the_suite_as_the_app_role_and_migrates_as_the_owner(participant):
    """`make test` names two URLs: the suite's own connection is the granted role, not the owner."""
    from tests import db_roles

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", [AUDIT]
        )
        current, owner = cursor.fetchone()
    if not db_roles.owner_url():  # a plain `pytest` with one URL runs as that login
        assert current == connection.settings_dict["USER"]
        return
    assert current == db_roles.app_role() != owner == db_roles.owner_role_name()
    entry = AuditEntry.objects.order_by("id").first()
    with pytest.raises(Exception, match="permission denied"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
