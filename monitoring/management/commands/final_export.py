"""Start the final bulk export: manage.py final_export --by <data manager>; refused unless the study is locked."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from monitoring import services
from trial.audit import AuditContext
from trial.models import AuditSource


class Command(BaseCommand):
    help = "Start the final export (the bulk snapshot) of the locked study database."

    def add_arguments(self, parser):
        parser.add_argument("--by", required=True, help="Username of the data manager.")

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["by"]).first()
        if user is None:
            raise CommandError(f"No user {opts['by']!r}.")
        try:
            job = services.final_export_start(ctx=AuditContext.system(source=AuditSource.SYSTEM, user=user))
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
        lock = services.study_locked()
        self.stdout.write(
            json.dumps(
                {"export_job": job.pk, "study_lock": lock.pk, "locked_at": lock.created_at.isoformat()}
            )
        )
