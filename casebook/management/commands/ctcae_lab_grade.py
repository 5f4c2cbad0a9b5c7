"""Grade laboratory values by CTCAE v5.0 from a CSV (columns test, value, unit, lln, uln, baseline, sex)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quant.labs.csv_rows import grade_csv_file
from quant.labs.grading import LabGradeError


class Command(BaseCommand):
    help = (
        "Grade lab values by CTCAE v5.0. CSV columns: test (LBTESTCD), value, unit, lln, uln, baseline, sex "
        '(the last four may be empty). --json prints {"rows": [{test, grade, direction, ctcae_term}]}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv", help="CSV file with a header row")
        parser.add_argument("--json", action="store_true", help="print the contract JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            results = grade_csv_file(options["csv"])
        except LabGradeError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps({"rows": [r.as_contract() for r in results]}))
            return
        for r in results:
            what = f"grade {r.grade} {r.ctcae_term} ({r.direction})" if r.grade else "not graded"
            self.stdout.write(f"{r.test:<8} {what}")
