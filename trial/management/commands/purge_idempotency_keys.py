"""Delete idempotency keys and used form tokens older than IDEMPOTENCY_KEY_TTL_HOURS (not clinical data)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from trial.idempotency import purge_expired, ttl_hours


class Command(BaseCommand):
    help = "Delete idempotency keys and one-time form tokens older than IDEMPOTENCY_KEY_TTL_HOURS (min 24)."

    def handle(self, *args, **options) -> None:
        deleted = purge_expired()
        self.stdout.write(f"Deleted {deleted} idempotency key(s) older than {ttl_hours()} hours.")
