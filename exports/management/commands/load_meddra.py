"""Load a sponsor's licensed MedDRA ASCII release (the folder with llt.asc, pt.asc, mdhier.asc, ...)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exports.meddra import MeddraFileError, load_release


class Command(BaseCommand):
    help = "Load a MedDRA ASCII release folder; AE coding in SDTM then follows its primary hierarchy."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="Folder holding llt.asc, pt.asc, mdhier.asc, ...")
        parser.add_argument(
            "--meddra-version",
            dest="meddra_version",
            default="",
            help="Version when meddra_release.asc is absent.",
        )

    def handle(self, *args, folder: Path, meddra_version: str, **options):
        try:
            release, n = load_release(folder, meddra_version)
        except MeddraFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"MedDRA {release.version}: {n} lowest level terms loaded (current release)")
