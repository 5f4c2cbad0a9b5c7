"""Full bounded IVIM fit: python manage.py ivim_fit FILE.csv --json (columns b_s_mm2, signal)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quant.errors import QuantInputError
from quant.mri.curve_csv import read_numeric_columns
from quant.mri.ivim import fit_ivim


class Command(BaseCommand):
    help = "Fit the IVIM bi-exponential model to a CSV with columns b_s_mm2, signal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_path")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **opts) -> None:
        try:
            cols = read_numeric_columns(opts["csv_path"], ("b_s_mm2", "signal"))
            res = fit_ivim(cols["b_s_mm2"], cols["signal"])
        except QuantInputError as exc:
            raise CommandError(str(exc)) from None
        out = {"f": res.f, "D_mm2_s": res.D_mm2_s, "Dstar_mm2_s": res.Dstar_mm2_s, "S0": res.S0}
        if opts["json"]:
            self.stdout.write(json.dumps(out))
        else:
            self.stdout.write("\n".join(f"{k}: {v}" for k, v in out.items()))
