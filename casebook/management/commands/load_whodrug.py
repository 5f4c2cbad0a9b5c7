"""Load a drug dictionary (WHODrug extract or the demo sample) from a CSV; see casebook/data/whodrug/README.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casebook import whodrug


class Command(BaseCommand):
    help = "Load drug_code, drug_name, atc_code, atc_text rows (CSV) into the medication dictionary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", nargs="?", default=str(whodrug.SAMPLE), help="CSV file (default: demo sample)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = whodrug.load(Path(options["file"]))
        except whodrug.DrugFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged")
