"""Build the demo trial (idempotent) and print the demo logins."""

from __future__ import annotations

import importlib
import io
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core import mail
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from trial.demo import DEMO_PASSWORD, build_trial
from trial.reference_data import ensure_loaded

# Order matters: lesions before imaging (VOIs link lesions) and pathology (biopsies link lesions);
# kinetics after imaging (it adds PK time points to the PET demo participants); casebook after safety and
# kinetics (its grade 2 lab has no matching AE; it adds PK samples only where kinetics left none).
APP_DEMOS = ("safety", "lesions", "imaging", "kinetics", "pathology", "casebook", "exports")


class Command(BaseCommand):
    help = "Load reference data and a realistic demo trial (3 sites, ~24 participants); safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=20261204)
        parser.add_argument("--skip", nargs="*", default=[], help="App demos to skip (e.g. imaging).")

    def handle(self, *args, seed: int, skip: list[str], **options):
        started = time.monotonic()
        before = len(getattr(mail, "outbox", []))
        # Stored PK parameters are refreshed once at the end instead of after every demo write (PK_AUTO_REFRESH).
        with _quiet(), override_settings(PK_AUTO_REFRESH=False):
            self._build(seed, skip)
        if "kinetics" not in skip and "pk_parameters" in get_commands():
            call_command("pk_parameters", stdout=io.StringIO())
        outbox = getattr(mail, "outbox", [])[before:]
        if outbox:
            subjects = sorted({m.subject.split(": ", 1)[-1] for m in outbox})
            self.stdout.write(
                f"SAE e-mails: {len(outbox)} sent by the demo (not printed): {'; '.join(subjects)}"
            )
        self.stdout.write(self.style.SUCCESS(f"Demo trial ready in {time.monotonic() - started:.1f} s."))
        self._print_logins()

    def _build(self, seed: int, skip: list[str]) -> None:
        ensure_loaded()
        rng = random.Random(seed)
        participants, users = build_trial(rng)
        self.stdout.write(f"Trial: {len(participants)} participants at 3 sites")
        for app in APP_DEMOS:
            if app in skip:
                continue
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name == f"{app}.demo":
                    continue
                raise
            app_started = time.monotonic()
            module.build_demo(participants, users, random.Random(f"{seed}-{app}"))
            self.stdout.write(f"{app}: demo data ready ({time.monotonic() - app_started:.1f} s)")

    def _print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role in [
            ("coordinator_nl01", "site coordinator, NL01 (also _nl02, _be01)"),
            ("investigator_nl01", "investigator, NL01"),
            ("radiologist_nl01", "radiologist, NL01"),
            ("pathologist_nl01", "pathologist, NL01"),
            ("pathologist2_nl01", "second pathologist, NL01 (second IHC scorer)"),
            ("monitor", "monitor, all three sites"),
            ("data_manager", "data manager, every site"),
            ("sponsor", "sponsor (read-only), every site"),
            ("admin", "Django admin (configuration)"),
        ]:
            self.stdout.write(f"  {username:<20} {role}")


@contextmanager
def _quiet() -> Iterator[None]:
    """While the demo is built: e-mails kept in memory (the console backend would print every SAE report) and
    the in-process task log at WARNING, so the command prints a short summary."""
    task_log = logging.getLogger("celery.app.trace")
    level = task_log.level
    task_log.setLevel(logging.WARNING)
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            yield
    finally:
        task_log.setLevel(level)
