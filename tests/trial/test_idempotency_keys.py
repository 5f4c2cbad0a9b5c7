"""Idempotency keys are housekeeping, not clinical data: purged after IDEMPOTENCY_KEY_TTL_HOURS (>= 24 h)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from trial.models import IdempotencyKey


def key_aged(user, name: str, hours: float) -> IdempotencyKey:
    row = IdempotencyKey.objects.create(
        user=user, key=name, method="POST", path="/api/v1/x/", body_sha256="0" * 64, status_code=201
    )
    IdempotencyKey.objects.filter(pk=row.pk).update(created_at=timezone.now() - dt.timedelta(hours=hours))
    return row


@pytest.mark.django_db
def test_the_command_purges_keys_older_than_the_ttl_and_keeps_the_rest(coordinator, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 48
    key_aged(coordinator, "old", 49)
    key_aged(coordinator, "recent", 47)
    out = StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
    assert "Deleted 1 idempotency key(s) older than 48 hours." in out.getvalue()


@pytest.mark.django_db
def test_keys_are_kept_at_least_a_day_whatever_the_setting(coordinator, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 1
    key_aged(coordinator, "23h", 23)
    key_aged(coordinator, "25h", 25)
    call_command("purge_idempotency_keys", stdout=StringIO())
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["23h"]


@pytest.mark.django_db
def test_beat_runs_the_purge_task(coordinator):
    from config.celery import app
    from trial.tasks import purge_idempotency_keys

    entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == purge_idempotency_keys.name)
    assert entry["schedule"] <= 24 * 3600
    key_aged(coordinator, "old", 100)
    assert purge_idempotency_keys.delay().get() == 1
    assert not IdempotencyKey.objects.exists()
