"""``pet_suv`` command contract, Django-free (called by manage.py's fast path and the management command).

``pet_suv SERIES_DIR [--series-uid UID] [--sphere NAME:X,Y,Z,R]... [--seg FILE] [--rtstruct FILE --roi NAME]
[--mask NAME:FILE.nii.gz]... [--injection-time ISO8601] [--injected-mbq F] [--weight-kg F]
[--no-strict-zr89] [--override-header] --json`` prints one JSON object: suv_bw_factor, decay_time_s, warnings, vois
{NAME: {suv_max, suv_mean, suv_min, suv_median, suv_sd, suv_peak, volume_ml, voxel_count,
mtv41_ml, tlg41}} plus reference-time details, transfer_syntaxes, lossy_compression and ignored_files.
SERIES_DIR may be a CD or PACS export (DICOMDIR, README.TXT, AUTORUN.INF, sub-folders, compressed files,
files without the Part 10 preamble): the one PT series is used (--series-uid picks another); SEG and
RTSTRUCT may be drawn on another grid of the same frame of reference (the CT of the PET/CT).
Errors: one line on stderr, exit status 2.
A --weight-kg or --injection-time that contradicts the header beyond the upload block limits
(PET_BLOCK_WEIGHT_PCT, PET_BLOCK_INJECTION_DAYS from the environment; defaults 20 %, 1 day) is refused
unless --override-header is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping

import numpy as np

from quant.dicom.files import inventory, list_dicom_files, pick_series
from quant.errors import PetCommandError, SeriesError
from quant.pet.crosscheck import BLOCK_INJECTION_DAYS, BLOCK_WEIGHT_PCT, BlockLimits, header_contradictions
from quant.pet.series import read_pet_series
from quant.pet.suv import SuvError, compute_suv, normalisations, parse_iso
from quant.pet.voi import VoiError, nifti_voi, rtstruct_voi, seg_vois, sphere_voi, voi_metrics

CONTRACT_KEYS = (
    "suv_max",
    "suv_mean",
    "suv_min",
    "suv_median",
    "suv_sd",
    "suv_peak",
    "volume_ml",
    "voxel_count",
    "mtv41_ml",
    "tlg41",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would exit with usage text
        raise PetCommandError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="manage.py pet_suv", description="SUV and VOI metrics of one 89Zr PET series")
    add_arguments(parser)
    return parser


def add_arguments(parser) -> None:
    """Arguments shared by the fast path and the Django management command."""
    parser.add_argument("series_dir")
    parser.add_argument("--sphere", action="append", default=[], metavar="NAME:X,Y,Z,R")
    parser.add_argument("--series-uid", dest="series_uid", default=None)
    parser.add_argument("--seg", default=None)
    parser.add_argument("--rtstruct", default=None)
    parser.add_argument("--roi", default=None)
    parser.add_argument("--mask", action="append", default=[], metavar="NAME:FILE.nii.gz")
    parser.add_argument("--injection-time", dest="injection_time", default=None)
    parser.add_argument("--injected-mbq", dest="injected_mbq", type=float, default=None)
    parser.add_argument("--weight-kg", dest="weight_kg", type=float, default=None)
    parser.add_argument("--no-strict-zr89", dest="strict_zr89", action="store_false", default=True)
    parser.add_argument("--override-header", dest="override_header", action="store_true", default=False)
    parser.add_argument("--json", action="store_true")


def block_limits(environ: Mapping[str, str] = os.environ) -> BlockLimits:
    """The upload block limits, overridable by the same environment variables as the Django settings."""
    try:
        return BlockLimits(
            injection_days=float(environ.get("PET_BLOCK_INJECTION_DAYS", BLOCK_INJECTION_DAYS)),
            weight_pct=float(environ.get("PET_BLOCK_WEIGHT_PCT", BLOCK_WEIGHT_PCT)),
        )
    except ValueError as exc:
        raise PetCommandError(f"PET_BLOCK_* environment variable is not a number: {exc}") from exc


def _header_check(opts: dict, header) -> list[str]:
    """Refuse given values that contradict the header, or (--override-header) return them as warnings."""
    injection = parse_iso(opts["injection_time"]) if opts.get("injection_time") else None
    limits = opts.get("block_limits") or block_limits()
    clashes = header_contradictions(
        header, weight_kg=opts.get("weight_kg"), injection=injection, limits=limits
    )
    if clashes and not opts.get("override_header"):
        raise PetCommandError("; ".join(clashes) + "; pass --override-header to use the given value")
    return [f"header overridden: {c}" for c in clashes]


def _sphere(spec: str) -> tuple[str, tuple[float, float, float], float]:
    try:
        name, numbers = spec.split(":", 1)
        x, y, z, r = (float(v) for v in numbers.split(","))
    except ValueError as exc:
        raise PetCommandError(f"--sphere {spec!r}: expected NAME:X,Y,Z,R (mm)") from exc
    if not name:
        raise PetCommandError(f"--sphere {spec!r}: name is empty")
    return name, (x, y, z), r


def _named_file(spec: str, option: str) -> tuple[str, str]:
    if ":" not in spec:
        raise PetCommandError(f"{option} {spec!r}: expected NAME:FILE")
    name, path = spec.split(":", 1)
    return name, path


def run(options: argparse.Namespace | dict) -> dict:
    """Compute the JSON result; raises SeriesError/SuvError/VoiError/PetCommandError."""
    opts = vars(options) if isinstance(options, argparse.Namespace) else dict(options)
    if opts.get("rtstruct") and not opts.get("roi"):
        raise PetCommandError("--rtstruct needs --roi NAME")
    found = inventory(list_dicom_files(opts["series_dir"]))
    series = read_pet_series(pick_series(found, "PT", opts.get("series_uid")))
    overridden = _header_check(opts, series.header)
    result = compute_suv(
        series.header,
        injection_datetime=opts.get("injection_time"),
        injected_mbq=opts.get("injected_mbq"),
        weight_kg=opts.get("weight_kg"),
        strict_zr89=opts.get("strict_zr89", True),
    )
    volume = series.volume
    factors = np.asarray(result.slice_factors, dtype=np.float32)
    volume *= factors[:, None, None]  # in place: the volume now holds SUVbw
    geometry = series.geometry
    vois = _vois(opts, geometry)
    out_vois = {}
    for voi in vois:
        if voi.name in out_vois:
            raise PetCommandError(f"VOI name {voi.name!r} used twice")
        metrics = voi_metrics(volume, voi, geometry.spacing).to_dict()
        out_vois[voi.name] = {k: metrics[k] for k in CONTRACT_KEYS} | {
            "mtv_2p5_ml": metrics["mtv_fixed_ml"],
            "tlg_2p5": metrics["tlg_fixed"],
        }
    return {
        "suv_bw_factor": result.suv_bw_factor,
        "decay_time_s": result.decay_time_s,
        "warnings": list(series.warnings) + list(result.warnings) + overridden,
        "vois": out_vois,
        "reference_time": result.to_dict()["reference_time"],
        "reference_time_source": result.reference_time_source,
        "injection_time": result.to_dict()["injection_time"],
        "injection_time_source": result.injection_time_source,
        "formula": result.formula,
        "normalisations": {
            n.name: {"factor_vs_suv_bw": n.factor, "formula": n.formula}
            for n in normalisations(
                result.suv_bw_factor,
                result.weight_kg,
                series.header.patient_size_m,
                series.header.patient_sex,
            )
        },
        "series_instance_uid": series.series_instance_uid,
        "slices": int(volume.shape[0]),
        "transfer_syntaxes": list(series.transfer_syntaxes),
        "lossy_compression": list(series.lossy),
        "ignored_files": [
            {"file": os.path.relpath(p, opts["series_dir"]), "reason": r} for p, r in found.ignored
        ],
    }


def _vois(opts: dict, geometry) -> list:
    vois = []
    for spec in opts.get("sphere") or []:
        name, centre, radius = _sphere(spec)
        vois.append(sphere_voi(name, geometry, centre, radius))
    for spec in opts.get("mask") or []:
        name, path = _named_file(spec, "--mask")
        vois.append(nifti_voi(name, geometry, path))
    if opts.get("rtstruct"):
        vois.append(rtstruct_voi(opts["roi"], geometry, opts["rtstruct"], opts["roi"]))
    if opts.get("seg"):
        vois.extend(seg_vois(geometry, opts["seg"]))
    return vois


EXPECTED_ERRORS = (SeriesError, SuvError, VoiError, PetCommandError, OSError, ValueError)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Fast-path entry: prints JSON to stdout, or one line to stderr and returns 2."""
    try:
        options = build_parser().parse_args(argv)
        payload = run(options)
    except EXPECTED_ERRORS as exc:
        sys.stderr.write(f"pet_suv: error: {one_line(exc)}\n")
        return 2
    except Exception as exc:  # never a traceback on the command line
        sys.stderr.write(f"pet_suv: error: unexpected {type(exc).__name__}: {one_line(exc)}\n")
        return 2
    sys.stdout.write(format_output(payload, as_json=options.json) + "\n")
    return 0


def format_output(payload: dict, as_json: bool) -> str:
    if as_json:
        return json.dumps(payload, allow_nan=False)
    lines = [
        f"SUVbw factor {payload['suv_bw_factor']:.6g}, decay time {payload['decay_time_s']:.0f} s "
        f"({payload['reference_time_source']})"
    ]
    lines += [f"warning: {w}" for w in payload["warnings"]]
    for name, m in payload["vois"].items():
        lines.append(
            f"{name}: SUVmax {m['suv_max']:.3f} mean {m['suv_mean']:.3f} peak {m['suv_peak']:.3f} "
            f"volume {m['volume_ml']:.2f} mL MTV41 {m['mtv41_ml']:.2f} mL TLG41 {m['tlg41']:.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
