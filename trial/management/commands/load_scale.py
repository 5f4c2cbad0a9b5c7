"""Load a synthetic multi-centre trial for benchmarks: bulk COPY, consistent records, a sealed audit chain.

    manage.py load_scale --sites 30 --participants 3000 --aes 100000 --audit 1000000 --scans 20000

PostgreSQL only; refuses a database that already holds participants or audit entries unless --force.
See trial/scale.py for what is generated.
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from trial.models import AuditEntry, Membership, Participant, Role, Site
from trial.reference_data import ensure_loaded
from trial.scale import ScaleLoader, ScalePlan

SCALE_PASSWORD = "cd8pet-scale-2026"


class Command(BaseCommand):
    help = (
        "Bulk-load a synthetic trial (sites, participants, visits, scans, AEs, audit trail) for benchmarks."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sites", type=int, default=30)
        parser.add_argument("--participants", type=int, default=3000)
        parser.add_argument("--aes", type=int, default=100_000)
        parser.add_argument("--audit", type=int, default=1_000_000, help="Total audit entries to reach.")
        parser.add_argument("--scans", type=int, default=20_000, help="At most one per PET/MRI visit.")
        parser.add_argument("--seed", type=int, default=17)
        parser.add_argument("--force", action="store_true", help="Load even if the database holds data.")

    def handle(self, *args, sites: int, participants: int, aes: int, audit: int, scans: int, seed: int,
               force: bool, **options) -> None:  # fmt: skip
        if connection.vendor != "postgresql":
            raise CommandError("load_scale needs PostgreSQL (it writes with COPY); this database is SQLite.")
        if sites < 1 or participants < 1 or min(aes, audit, scans) < 0:
            raise CommandError("--sites and --participants must be positive; --aes, --audit, --scans >= 0.")
        if not force and (Participant.objects.exists() or AuditEntry.objects.exists()):
            raise CommandError(
                "The database already holds trial data; use --force to add the scale data anyway."
            )
        started = time.monotonic()
        ensure_loaded()
        plan = ScalePlan(sites, participants, aes, audit, scans, seed=seed, report=self.stdout.write)
        counts = ScaleLoader(plan).run()
        self._users()
        summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Scale trial loaded in {time.monotonic() - started:.0f} s: {summary}.")
        )
        self.stdout.write(
            f"Logins data_manager / monitor / sponsor (password {SCALE_PASSWORD} if created here)."
        )

    def _users(self) -> None:
        """A data manager, sponsor (all sites) and a monitor of every site, unless they exist already."""
        user_model = get_user_model()
        first = Site.objects.order_by("id").first()
        for username, role in (("data_manager", Role.DATA_MANAGER), ("sponsor", Role.SPONSOR)):
            user, created = user_model.objects.get_or_create(username=username)
            if created:
                user.set_password(SCALE_PASSWORD)
                user.save()
            if not Membership.objects.filter(user=user, role=role).exists():
                Membership.objects.create(user=user, site=first, role=role)
        monitor, created = user_model.objects.get_or_create(username="monitor")
        if created:
            monitor.set_password(SCALE_PASSWORD)
            monitor.save()
        have = set(
            Membership.objects.filter(user=monitor, role=Role.MONITOR).values_list("site_id", flat=True)
        )
        Membership.objects.bulk_create(
            Membership(user=monitor, site=site, role=Role.MONITOR)
            for site in Site.objects.exclude(id__in=have)
        )
