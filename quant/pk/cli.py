"""The ``pk_fit`` command's logic without Django: arguments, reading the CSV, JSON or text output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from quant.pk.errors import PkInputError
from quant.pk.fit import MODELS, PkResult, analyse
from quant.pk.table import read_curve_csv


def add_arguments(parser: Any) -> None:
    parser.add_argument("csv", help="CSV with columns t_h (hours after injection) and value (one unit).")
    parser.add_argument("--model", choices=MODELS, default="auto", help="mono, bi or auto (AICc).")
    parser.add_argument(
        "--decay-corrected",
        choices=("yes", "no"),
        default="yes",
        help="yes: values decay-corrected to injection (fitted half-life is biological); no: as measured.",
    )
    parser.add_argument("--json", action="store_true", help="Print the JSON contract.")


def run(options: dict[str, Any]) -> PkResult:
    path = Path(options["csv"])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PkInputError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PkInputError(f"cannot read {path}: {exc.__class__.__name__}") from None
    times, values = read_curve_csv(text)
    return analyse(times, values, model=options["model"], decay_corrected=options["decay_corrected"] == "yes")


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def format_output(result: PkResult, as_json: bool) -> str:
    payload = {key: _clean(value) for key, value in result.as_json().items()}
    if as_json:
        return json.dumps(payload)

    def num(value: Any) -> str:
        return "-" if value is None else f"{value:.4g}"

    lines = [
        f"model: {payload['model']}",
        f"half-lives (h): {', '.join(num(v) for v in payload['half_lives_h'])}",
        f"effective half-life (h): {num(payload['effective_half_life_h'])}",
        f"biological half-life (h): {num(payload['biological_half_life_h'])}",
        f"AUC 0-last: {num(payload['auc_0_last'])}  AUC 0-inf: {num(payload['auc_0_inf'])}"
        f"  extrapolated: {num(payload['auc_extrapolated_pct'])} %",
        f"r2: {payload['r2']:.4f}",
        *(f"note: {w}" for w in payload["warnings"]),
    ]
    return "\n".join(lines)
