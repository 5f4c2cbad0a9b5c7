"""Run every automatic-query rule over every record: raise what fails, close what now passes (idempotent).

Prints one JSON object: {"checked", "raised", "closed", "already_open", "closed_by_monitor", "rules": {...}}.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from queries import automatic
from queries.rules import RULES


class Command(BaseCommand):
    help = "Raise or close automatic queries for every rule over every record (safe to repeat)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rule", action="append", default=[], help="Only this rule code (repeatable).")

    def handle(self, *args, **options) -> None:
        codes = {r.code for r in RULES}
        unknown = sorted(set(options["rule"]) - codes)
        if unknown:
            raise CommandError(f"Unknown rule {', '.join(unknown)}; one of: {', '.join(sorted(codes))}.")
        rules = tuple(r for r in RULES if not options["rule"] or r.code in options["rule"])
        self.stdout.write(json.dumps(automatic.sweep(rules), sort_keys=True))
