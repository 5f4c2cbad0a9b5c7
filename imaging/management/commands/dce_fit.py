"""Fit one DCE tissue curve: python manage.py dce_fit FILE.csv --model tofts|extended_tofts|2cxm [--fit-delay] --json."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quant.errors import QuantInputError
from quant.mri.curve_csv import read_numeric_columns
from quant.mri.dce import MODELS, OUTPUT_KEYS, fit_dce_curve


class Command(BaseCommand):
    help = "Fit a tracer-kinetic model to a CSV with columns t_s, ct_mM, cp_mM (cp = plasma AIF)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_path")
        parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
        parser.add_argument("--fit-delay", action="store_true", help="also fit the arterial delay (0-20 s)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **opts) -> None:
        if opts["model"] not in MODELS:
            raise CommandError(f"unknown model {opts['model']!r}; choose one of {', '.join(MODELS)}")
        try:
            cols = read_numeric_columns(opts["csv_path"], ("t_s", "ct_mM", "cp_mM"))
            res = fit_dce_curve(
                cols["t_s"], cols["ct_mM"], cols["cp_mM"], opts["model"], fit_delay=opts["fit_delay"]
            )
        except QuantInputError as exc:
            raise CommandError(str(exc)) from None
        out = {
            "model": res.model,
            **{k: res.params[k] for k in OUTPUT_KEYS},
            "residual_rms_mM": res.residual_rms_mM,
        }
        if opts["json"]:
            self.stdout.write(json.dumps(out))
        else:
            self.stdout.write("\n".join(f"{k}: {v}" for k, v in out.items()))
