"""Create or update the PostgreSQL role the application connects as, run as the table owner after migrate.

The role owns nothing: it may read and write the app's tables, but only INSERT and SELECT the audit trail,
plus UPDATE of the three chain columns (seq, prev_hash, entry_hash) that sealing fills after commit (the
row trigger lets only that through, and only on an unsealed row). No other UPDATE, no DELETE or TRUNCATE;
as a non-owner it cannot disable the triggers either. Run it after every
`migrate` so new tables are granted too (`make db-roles` does both).
"""

from __future__ import annotations

import re

import dj_database_url
from django.core.management.base import BaseCommand, CommandError
from django.db import ProgrammingError, connection, transaction

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
AUDIT_TABLE = "trial_auditentry"
SEAL_COLUMNS = ("seq", "prev_hash", "entry_hash")


class Command(BaseCommand):
    help = (
        "Create/grant the app's PostgreSQL role (named by --app-url); audit rows: INSERT and SELECT, "
        "UPDATE of the chain columns only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--app-url", required=True, help="The app's DATABASE_URL (its user is the role).")

    def handle(self, *args, app_url: str, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("grant_app_role needs PostgreSQL (the SQLite demo has no roles).")
        role, password = _role_from_url(app_url)
        if role == connection.settings_dict["USER"]:
            raise CommandError(f"The app role {role!r} must not be the owner this command runs as.")
        with transaction.atomic(), connection.cursor() as cursor:
            _ensure_role(cursor, role, password)
            for statement in _grants(role):
                cursor.execute(statement)
        self.stdout.write(
            f"Role {role} granted: app tables read/write, {AUDIT_TABLE} INSERT and SELECT only"
            f" (UPDATE of {', '.join(SEAL_COLUMNS)} for sealing)."
        )


def _role_from_url(url: str) -> tuple[str, str]:
    try:
        parsed = dj_database_url.parse(url)
    except Exception as exc:  # noqa: BLE001 - any unparsable URL gets the same one-line message
        raise CommandError(f"--app-url is not a database URL: {exc}") from None
    role = parsed.get("USER") or ""
    if not ROLE_NAME.match(role):
        raise CommandError(f"--app-url needs a user name of lower-case letters, digits and _ (got {role!r}).")
    return role, parsed.get("PASSWORD") or ""


def _ensure_role(cursor, role: str, password: str) -> None:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is None:
        try:
            with transaction.atomic():
                cursor.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        except ProgrammingError:  # created meanwhile by a concurrent run
            pass
    if password:
        quoted = connection.connection.pgconn.escape_literal(password.encode()).decode()
        cursor.execute(f"ALTER ROLE {role} PASSWORD {quoted}")


def _grants(role: str) -> list[str]:
    database = connection.ops.quote_name(connection.settings_dict["NAME"])
    return [
        f"GRANT CONNECT ON DATABASE {database} TO {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # Revoking the table-level UPDATE also revokes column grants, so the column grant comes after it.
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {AUDIT_TABLE} FROM {role}",
        f"GRANT UPDATE ({', '.join(SEAL_COLUMNS)}) ON {AUDIT_TABLE} TO {role}",
    ]
