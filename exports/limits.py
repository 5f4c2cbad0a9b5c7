"""Per-user limits on bulk exports: how many may be queued or running, how many may start per hour."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from exports.models import ExportJob

HOUR = dt.timedelta(hours=1)
RUNNING_RETRY_SECONDS = 60


class ExportLimitReached(Exception):
    """The user may not start another bulk export now; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def check_export_limits(user: Any) -> None:
    """Raise ExportLimitReached when `user` is at a limit; call inside the transaction that creates the job."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk))  # one start at a time per user
    mine = ExportJob.objects.filter(requested_by=user)
    max_running = settings.EXPORT_MAX_RUNNING_PER_USER
    running = mine.filter(status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]).count()
    if running >= max_running:
        raise ExportLimitReached(
            f"You have {running} bulk export(s) queued or running (at most {max_running}); "
            "wait until it finishes.",
            RUNNING_RETRY_SECONDS,
        )
    per_hour = settings.EXPORT_MAX_STARTED_PER_HOUR
    now = timezone.now()
    recent = list(
        mine.filter(created_at__gt=now - HOUR).order_by("-created_at").values_list("created_at", flat=True)
    )
    if len(recent) >= per_hour:
        frees_at = recent[per_hour - 1] + HOUR
        raise ExportLimitReached(
            f"You started {len(recent)} bulk exports in the last hour (at most {per_hour}).",
            max(1, math.ceil((frees_at - now).total_seconds())),
        )
