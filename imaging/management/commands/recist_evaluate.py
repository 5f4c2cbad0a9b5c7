"""Evaluate RECIST 1.1 and iRECIST responses for one participant from a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quant.response.recist import RecistInputError
from quant.response.request import evaluate_request


class Command(BaseCommand):
    help = "Compute RECIST 1.1 and iRECIST time-point and best overall responses from FILE.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="request JSON: settings, lesions, assessments (first = baseline)")
        parser.add_argument("--json", action="store_true", help="print the full result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        result = evaluate_file(Path(options["file"]))
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        for tp in result["timepoints"]:
            sum_mm = "-" if tp["sum_mm"] is None else f"{tp['sum_mm']:g} mm"
            self.stdout.write(
                f"{tp['date']}  sum {sum_mm:>9}  RECIST {tp['recist'] or '-':<14} iRECIST {tp['irecist'] or '-'}"
            )
        best = result["best_overall_response"]
        self.stdout.write(f"best overall response: RECIST {best['recist']}, iRECIST {best['irecist']}")


def evaluate_file(path: Path) -> dict[str, Any]:
    """Read, parse and evaluate one request file; every input problem becomes a CommandError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    try:
        return evaluate_request(data)
    except RecistInputError as exc:
        raise CommandError(f"{path}: {exc}") from None
