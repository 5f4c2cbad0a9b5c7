"""Issue an API token: manage.py issue_token <username> --by <data manager> [--label ..] [--read-write]
[--expires-in-days N] [--scope export|capture]..."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from exports import services
from trial.audit import AuditContext
from trial.models import AuditSource, TokenScope


class Command(BaseCommand):
    help = "Issue a per-user API token (prints the key once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--by", required=True, help="Username of the data manager issuing it.")
        parser.add_argument("--label", default="")
        parser.add_argument(
            "--read-write", action="store_true", help="Allow writes (never for sponsor/monitor)."
        )
        parser.add_argument(
            "--expires-in-days", type=int, default=services.TOKEN_DAYS_DEFAULT, help="1 to 365 (default 90)."
        )
        parser.add_argument(
            "--scope",
            action="append",
            choices=TokenScope.values,
            help="Repeat for several; default every scope.",
        )

    def handle(self, *args, **opts):
        issuer = get_user_model().objects.filter(username=opts["by"]).first()
        if issuer is None:
            raise CommandError(f"No user {opts['by']!r}.")
        try:
            token, key = services.token_issue(
                ctx=AuditContext.system(source=AuditSource.SYSTEM, user=issuer),
                username=opts["username"],
                label=opts["label"],
                read_only=not opts["read_write"],
                expires_in_days=opts["expires_in_days"],
                scopes=opts["scope"],
            )
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
        access = "read-only" if token.read_only else "read-write"
        self.stdout.write(f"{key}\n")
        self.stderr.write(
            f"Issued {access} token {token.prefix}… (id {token.pk}) for {token.user}, "
            f"scopes {', '.join(token.scopes)}, expires {token.expires_at:%Y-%m-%d %H:%M} UTC."
        )
