"""Render every analysis plot (PNG) and its data (CSV) to a folder, for all sites or one filter set."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from pathology.analysis_views import SOURCES
from pathology.plots import PLOTS, csv_rows
from trial import csv_safety


class Command(BaseCommand):
    help = "Write each analysis plot as <name>.png with <name>.csv (the exact data behind it) to --out."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Output folder (created if missing).")
        parser.add_argument("--user", default="", help="Read as this user (scoping); default: every site.")
        for name in ("site", "tumour_type", "drug", "participant"):
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default="")

    def handle(self, *args, out: str, user: str, **options):
        filters = {k: options.get(k) or "" for k in ("site", "tumour_type", "drug", "participant")}
        reader = self._user(user)
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        cache: dict[str, list] = {}
        for spec in PLOTS.values():
            if spec.source not in cache:
                cache[spec.source] = SOURCES[spec.source](reader, filters)
            rows = cache[spec.source]
            (folder / f"{spec.name}.png").write_bytes(spec.render(rows))
            with open(folder / f"{spec.name}.csv", "w", newline="", encoding="utf-8") as fh:
                csv_safety.safe_writer(fh).writerows(csv_rows(spec, rows))
            ns = ", ".join(f"{s['panel']} {s['period']}: n={s['n']}" for s in spec.stats(rows)[:2])
            self.stdout.write(f"{spec.name}: {len(rows)} rows ({ns})")

    def _user(self, username: str):
        if not username:

            class Everyone:  # reads every site, like a data manager
                is_authenticated = True
                is_superuser = True

            return Everyone()
        found = get_user_model().objects.filter(username=username).first()
        if found is None:
            raise CommandError(f"No user named {username!r}.")
        return found
