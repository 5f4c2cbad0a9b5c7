"""Two PostgreSQL logins for the suite, as in production: the owner migrates, the app role runs the tests.

`make test` sets DATABASE_URL to the app role (cd8pet_suite) and MIGRATE_DATABASE_URL to the owner. The
suite creates and migrates the test database as the owner, grants the app role exactly as `grant_app_role`
does in production, and then runs every test as the app role, so application code that needed more than
the production grants (an UPDATE or DELETE of audit rows, DDL) fails here. One test-only grant is added:
TRUNCATE, for pytest-django's flush between transactional tests (the audit table's statement trigger still
refuses it outside the test database, which alone sets cd8pet.allow_audit_truncate). The tests that play
the attacker who holds the owner's login (tampering, trigger checks, migrations) switch to it explicitly with
`owner_role()`: the suite role is a NOINHERIT member of the owner, so it has none of the owner's rights
until it says SET ROLE.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dj_database_url

_app_login: dict[str, str] = {}


def owner_url() -> str:
    return os.environ.get("MIGRATE_DATABASE_URL", "")


def _settings_dicts() -> list[dict]:
    from django.conf import settings
    from django.db import connections

    dicts = [settings.DATABASES["default"], connections["default"].settings_dict]
    return [d for i, d in enumerate(dicts) if all(d is not e for e in dicts[:i])]


def _log_in(user: str, password: str) -> None:
    from django.db import connections

    connections.close_all()
    for settings_dict in _settings_dicts():
        settings_dict["USER"], settings_dict["PASSWORD"] = user, password


def owner_role_name() -> str:
    return dj_database_url.parse(owner_url())["USER"]


def log_in_as_owner() -> None:
    if not _app_login:
        current = _settings_dicts()[0]
        _app_login.update(USER=current["USER"], PASSWORD=current.get("PASSWORD") or "")
    owner = dj_database_url.parse(owner_url())
    _log_in(owner["USER"], owner.get("PASSWORD") or "")


def log_in_as_app() -> None:
    _log_in(_app_login["USER"], _app_login["PASSWORD"])


def app_role() -> str:
    return _app_login["USER"]


def _grant_flush(cursor) -> None:
    """The one test-only grant: TRUNCATE, for pytest-django's flush between transactional tests."""
    cursor.execute(f"GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {app_role()}")


def grant_suite_role() -> None:
    """As the owner: the production grants for the app role, plus TRUNCATE for the test flush."""
    from django.core.management import call_command
    from django.db import connection

    password = _app_login["PASSWORD"]
    url = f"postgres://{app_role()}{':' + password if password else ''}@localhost/x"
    with _cluster_role_lock(), open(os.devnull, "w") as quiet:
        call_command("grant_app_role", app_url=url, stdout=quiet)
        with connection.cursor() as cursor:
            _grant_flush(cursor)
            cursor.execute(f"ALTER ROLE {app_role()} NOINHERIT")
            cursor.execute(f"GRANT {owner_role_name()} TO {app_role()}")


@contextmanager
def _cluster_role_lock() -> Iterator[None]:
    """Roles are cluster-wide: pytest-xdist workers (one test database each) create and alter the same role,
    and PostgreSQL refuses concurrent changes of one role ("tuple concurrently updated"). One at a time."""
    with (Path(tempfile.gettempdir()) / "cd8pet-suite-role.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def owner_role() -> Iterator[None]:
    """Act as the database owner on the current connection (a no-op when the suite runs as the owner)."""
    from django.db import connection

    if not owner_url():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {owner_role_name()}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def regrant_after_migrating() -> None:
    """After a test migrated as the owner, tables it re-created lost the app role's grants: give them back."""
    from django.db import connection

    from trial.management.commands.grant_app_role import _grants

    if not owner_url():
        return
    with _cluster_role_lock(), owner_role(), connection.cursor() as cursor:
        for statement in _grants(app_role()):
            cursor.execute(statement)
        _grant_flush(cursor)
