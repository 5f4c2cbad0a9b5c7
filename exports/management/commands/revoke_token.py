"""Revoke an API token: manage.py revoke_token <id or prefix> --by <data manager> --reason "..."."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from exports import services
from trial.audit import AuditContext
from trial.models import ApiToken, AuditSource


class Command(BaseCommand):
    help = "Revoke an API token by id or key prefix."

    def add_arguments(self, parser):
        parser.add_argument("token", help="Token id or its 8-character prefix.")
        parser.add_argument("--by", required=True)
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **opts):
        issuer = get_user_model().objects.filter(username=opts["by"]).first()
        if issuer is None:
            raise CommandError(f"No user {opts['by']!r}.")
        ref = opts["token"]
        query = Q(prefix=ref) | Q(pk=int(ref)) if ref.isdigit() else Q(prefix=ref)
        matches = list(ApiToken.objects.filter(query)[:2])
        if len(matches) != 1:
            raise CommandError(f"{ref!r} matches {len(matches)} tokens; give the token id.")
        try:
            services.token_revoke(
                ctx=AuditContext.system(source=AuditSource.SYSTEM, user=issuer),
                token=matches[0],
                reason=opts["reason"],
            )
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
        self.stdout.write(f"Revoked token {matches[0].prefix}… of {matches[0].user}.")
