"""Kurtosis fit: python manage.py dki_fit FILE.csv --json (columns b_s_mm2, signal)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quant.errors import QuantInputError
from quant.mri.curve_csv import read_numeric_columns
from quant.mri.dki import fit_dki


class Command(BaseCommand):
    help = "Fit S = S0 exp(-b D + b^2 D^2 K/6) to a CSV with columns b_s_mm2, signal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_path")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **opts) -> None:
        try:
            cols = read_numeric_columns(opts["csv_path"], ("b_s_mm2", "signal"))
            res = fit_dki(cols["b_s_mm2"], cols["signal"])
        except QuantInputError as exc:
            raise CommandError(str(exc)) from None
        out = {"D_mm2_s": res.D_mm2_s, "K": res.K, "S0": res.S0}
        if opts["json"]:
            self.stdout.write(json.dumps(out))
        else:
            self.stdout.write("\n".join(f"{k}: {v}" for k, v in out.items()))
