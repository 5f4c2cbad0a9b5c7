"""Load (or re-load) the shipped CTCAE v5.0 dictionary; safe to run any number of times."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from safety.ctcae import CTCAE_V5_CSV, DictionaryFileError, load_terms
from safety.models import CtcaeTerm


class Command(BaseCommand):
    help = "Load the CTCAE v5.0 terms from safety/data/ctcae_v5/ctcae_v5.csv (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--path", type=Path, default=CTCAE_V5_CSV, help="CSV in the shipped layout.")
        parser.add_argument(
            "--ctcae-version", dest="ctcae_version", default="5.0", help="Dictionary version label."
        )

    def handle(self, *args, path: Path, ctcae_version: str, **options):
        try:
            with transaction.atomic():
                result = load_terms(CtcaeTerm, version=ctcae_version, path=path)
        except DictionaryFileError as exc:
            raise CommandError(str(exc)) from exc
        qs = CtcaeTerm.objects.filter(version=ctcae_version)
        socs = qs.values("soc").distinct().count()
        self.stdout.write(
            f"CTCAE v{ctcae_version}: {qs.count()} terms, {socs} SOCs "
            f"({result.created} created, {result.updated} updated, {result.unchanged} unchanged)"
        )
