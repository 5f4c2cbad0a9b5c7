"""The ``mri_fit`` command line: arguments, VOIs from options, run and JSON output (no Django).

``manage.py mri_fit SERIES_DIR --model {tofts,extended_tofts,2cxm,ivim,dki} [--t10-ms F | --vfa-dir DIR]
[--r1 F] [--hematocrit F] [--aif parker | --aif-sphere X,Y,Z,R] [--fit-delay] [--sphere NAME:X,Y,Z,R]...
[--mask NAME:FILE.nii.gz]... [--seg FILE] --json`` prints ``{"model", "vois": {NAME: {param: median,
..., "voxel_count"}}, "warnings": [...]}``. X, Y, Z are DICOM patient coordinates (LPS) in mm.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from typing import Any

import numpy as np

from quant.errors import MriInputError, QuantError
from quant.mri.dicom_series import read_mr_series
from quant.mri.pipeline import MODELS, FitOptions, FitOutcome, fit_series
from quant.mri.rois import nifti_mask, parse_named_file, parse_sphere, seg_masks, sphere_mask

EXPECTED_ERRORS = (QuantError, OSError, ValueError)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("series_dir", metavar="SERIES_DIR", help="folder holding one MR series (DICOM)")
    parser.add_argument("--model", required=True, choices=MODELS)
    t10 = parser.add_mutually_exclusive_group()
    t10.add_argument("--t10-ms", type=float, dest="t10_ms", help="fixed pre-contrast T1 (ms)")
    t10.add_argument(
        "--vfa-dir", dest="vfa_dir", help="folder of the variable flip angle series (voxel-wise T10)"
    )
    parser.add_argument("--r1", type=float, default=4.5, help="relaxivity /mM/s (default 4.5)")
    parser.add_argument("--hematocrit", type=float, default=0.45, help="default 0.45")
    aif = parser.add_mutually_exclusive_group()
    aif.add_argument("--aif", choices=("parker",), default="parker")
    aif.add_argument(
        "--aif-sphere", dest="aif_sphere", metavar="X,Y,Z,R", help="vessel sphere (use --aif-sphere=...)"
    )
    parser.add_argument(
        "--fit-delay", action="store_true", dest="fit_delay", help="fit the AIF delay per voxel"
    )
    parser.add_argument("--sphere", action="append", default=[], metavar="NAME:X,Y,Z,R")
    parser.add_argument("--mask", action="append", default=[], metavar="NAME:FILE.nii.gz")
    parser.add_argument("--seg", metavar="FILE", help="DICOM SEG: one VOI per segment")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(options: dict[str, Any]) -> FitOutcome:
    model = options["model"]
    if options.get("r1") is not None and not options["r1"] > 0:
        raise MriInputError("--r1 must be positive")
    hct = options.get("hematocrit", 0.45)
    if not 0 <= hct < 1:
        raise MriInputError("--hematocrit must be in [0, 1)")
    if not os.path.isdir(options["series_dir"]):
        raise MriInputError(f"{options['series_dir']}: not a directory")
    series = read_mr_series(options["series_dir"])
    shape = series.data.shape[:3]
    vois: dict[str, np.ndarray] = {}
    for text in options.get("sphere") or []:
        s = parse_sphere(text)
        _add(vois, s.name, sphere_mask(s, shape, series.affine))
    for text in options.get("mask") or []:
        name, path = parse_named_file(text)
        with open(path, "rb") as handle:
            _add(vois, name, nifti_mask(name, handle.read(), shape))
    if options.get("seg"):
        if not os.path.isfile(options["seg"]):
            raise MriInputError(f"SEG file {options['seg']} not found")
        for name, mask in seg_masks(options["seg"], shape, series.affine).items():
            _add(vois, name, mask)
    vfa = read_mr_series(options["vfa_dir"], allow_several_series=True) if options.get("vfa_dir") else None
    opts = FitOptions(
        model=model,
        t10_ms=options.get("t10_ms"),
        vfa=vfa,
        r1=options.get("r1") or 4.5,
        hematocrit=hct,
        aif_sphere=parse_sphere(options["aif_sphere"], named=False) if options.get("aif_sphere") else None,
        fit_delay=bool(options.get("fit_delay")),
    )
    return fit_series(series, opts, vois)


def _add(vois: dict[str, np.ndarray], name: str, mask: np.ndarray) -> None:
    if name in vois:
        raise MriInputError(f"VOI name {name!r} is given twice")
    vois[name] = mask


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_output(outcome: FitOutcome, as_json: bool) -> str:
    payload = _clean(outcome.contract())
    if as_json:
        return json.dumps(payload, allow_nan=False)
    lines = [f"model {payload['model']}"]
    for name, values in payload["vois"].items():
        parts = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())
        lines.append(f"{name}: {parts}")
    lines.extend(f"warning: {w}" for w in payload["warnings"])
    return "\n".join(lines)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
