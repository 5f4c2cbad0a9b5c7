"""Benchmark: our voxel-wise DCE engine (quant.mri.dce_mapping, the mri_fit path) against dcmri on the same voxels.

Phantom: N voxels (default 2,000) with uniform random truths, T10 0.8-1.6 s, 120 frames every 2.5 s (5 min),
Parker 2006 population AIF arriving at 20 s (8 pre-contrast frames), hematocrit 0.45, r1 4.5 /mM/s, SPGR
TR 5 ms, flip angle 15 deg. Tissue concentrations are computed on a 0.05 s grid (exact piecewise-linear
convolution) and sampled at the frame times, turned into SPGR signals (fast water exchange) and given Gaussian
noise of SD = baseline signal / SNR (default SNR 20). Both engines get the same noisy signals and the same
constants, and both model the AIF on the same 0.5 s grid, with the arrival time known:
  ours:  dce_mapping.signal_to_concentration (baseline = the 8 pre-contrast frames, T10 per voxel) then
         dce_mapping.fit_dce_maps(fixed_delay_s=20) with the Parker AIF as plasma = blood / (1 - Hct); also
         timed with the arrival detected from the data (the mri_fit default);
  dcmri: dc.TissueArray(kinetics='HF' | '2CX', water_exchange='FF', sequence='SS'), which fits the signal
         itself: ca = the same Parker whole-blood curve in M on the 0.5 s grid, H = Hct (dcmri turns blood
         into plasma as ca / (1 - H), so both engines see the same plasma input), R10 = 1/T10 per voxel,
         r1 = 4500 /M/s, TR, FA, n0 = 8 baseline frames; default starting values and bounds, serial.
dcmri kinetics (dcmri/tissue.py): 'HF' is the extended Tofts model (free vb, vi, PS: vp = vb (1 - H),
ve = vi, Ktrans = PS, all rates in mL/sec/cm3 = /s), 'WV' the standard Tofts (vi, Ktrans), '2CX' the
two-compartment exchange model (free vb, vi, Fb, PS: Fp = Fb (1 - H), ve = vi). Rates are converted to
/min (x 60) before comparison. dcmri runs on a random subset (default 150 voxels, as a per-voxel
curve_fit loop it is slow) and its time is EXTRAPOLATED per voxel (printed as such); accuracy is compared
on that same subset. Median absolute relative error |estimate - truth| / truth per parameter.
Prints wall and process CPU seconds (the machine may be shared), per voxel and per 10,000 voxels, and the
speed ratio dcmri / ours (above 1 means ours is faster).
Run: .venv/bin/python bench/dce_dcmri_bench.py [--n 2000] [--subset 150] [--snr 20] [--models etofts,2cxm]
Needs the ``bench`` extra (dcmri); without it the script says so and prints our figures alone.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quant.mri import dce_mapping as dm  # noqa: E402
from quant.mri.aif import parker_blood_mM  # noqa: E402
from quant.mri.dce import spgr_signal  # noqa: E402
from quant.mri.dce_models import conv_exp  # noqa: E402

N_FRAMES, DT_S, DELAY_S, N_BASELINE = 120, 2.5, 20.0, 8
HCT, R1_PER_MM_S, TR_S, FLIP_DEG, M0 = 0.45, 4.5, 0.005, 15.0, 1000.0
TRUTH_STEP_S = 0.05
# our model names -> (dcmri kinetics, our parameter keys compared)
MODELS = {
    "extended_tofts": ("HF", ("ktrans_per_min", "ve", "vp")),
    "2cxm": ("2CX", ("fp_ml_per_min_per_ml", "ps_ml_per_min_per_ml", "ve", "vp", "ktrans_per_min")),
}
ALIASES = {"etofts": "extended_tofts", "extended_tofts": "extended_tofts", "2cxm": "2cxm"}


def frame_times() -> np.ndarray:
    return np.arange(N_FRAMES) * DT_S


def draw_truth(model: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Uniform random truths in our units (/min, ml/min/ml, fractions) and T10 (s)."""
    u = rng.uniform
    if model == "extended_tofts":
        truth = {"ktrans_per_min": u(0.05, 0.5, n), "ve": u(0.1, 0.6, n), "vp": u(0.01, 0.1, n)}
    else:
        truth = {
            "fp_ml_per_min_per_ml": u(0.1, 1.0, n),
            "ps_ml_per_min_per_ml": u(0.02, 0.3, n),
            "ve": u(0.1, 0.5, n),
            "vp": u(0.02, 0.1, n),
        }
        fp, ps = truth["fp_ml_per_min_per_ml"], truth["ps_ml_per_min_per_ml"]
        truth["ktrans_per_min"] = fp * ps / (fp + ps)
    truth["t10_s"] = u(0.8, 1.6, n)
    return truth


def plasma_aif_mM(t_s: np.ndarray, hct: float = HCT) -> np.ndarray:
    """The plasma input both engines see: Parker whole blood (arrival DELAY_S) / (1 - Hct)."""
    t_min = np.maximum(t_s - DELAY_S, 0.0) / 60.0
    return np.where(t_s >= DELAY_S, parker_blood_mM(t_min), 0.0) / (1.0 - hct)


def tissue_truth_mM(model: str, truth: dict[str, np.ndarray], t_s: np.ndarray) -> np.ndarray:
    """Noise-free tissue concentration (N, T) at t_s, convolved on a TRUTH_STEP_S grid (exact for linear Cp)."""
    fine = np.arange(0.0, t_s[-1] + TRUTH_STEP_S / 2, TRUTH_STEP_S)
    cp = plasma_aif_mM(fine)
    fine_min = fine / 60.0
    if model == "extended_tofts":
        k, ve, vp = truth["ktrans_per_min"], truth["ve"], truth["vp"]
        c = k[:, None] * conv_exp(fine_min, cp, k / ve) + vp[:, None] * cp
    else:
        fp, ps = truth["fp_ml_per_min_per_ml"], truth["ps_ml_per_min_per_ml"]
        ve, vp = truth["ve"], truth["vp"]
        trace = (fp + ps) / vp + ps / ve
        det = fp * ps / (vp * ve)
        s_fast = 0.5 * (trace + np.sqrt(trace**2 - 4.0 * det))
        s_slow = det / s_fast
        a_fast = s_fast * (fp - (vp + ve) * s_slow) / (s_fast - s_slow)
        c = a_fast[:, None] * conv_exp(fine_min, cp, s_fast) + (fp - a_fast)[:, None] * conv_exp(
            fine_min, cp, s_slow
        )
    return np.stack([np.interp(t_s, fine, row) for row in c])


def spgr_signals(conc_mM: np.ndarray, t10_s: np.ndarray, snr: float, rng: np.random.Generator) -> np.ndarray:
    """SPGR signals (fast water exchange) with Gaussian noise SD = pre-contrast signal / snr."""
    r1_t = 1.0 / t10_s[:, None] + R1_PER_MM_S * conc_mM
    s = spgr_signal(M0, r1_t, TR_S, FLIP_DEG)
    sd = spgr_signal(M0, 1.0 / t10_s, TR_S, FLIP_DEG) / snr
    return s + rng.normal(size=s.shape) * sd[:, None]


@dataclass
class Timed:
    params: dict[str, np.ndarray]
    wall_s: float
    cpu_s: float
    n_voxels: int
    info: dict


def _timed(fn: Callable[[], dm.DceMaps | dict[str, np.ndarray]], n: int) -> Timed:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if isinstance(out, dm.DceMaps):
        return Timed(out.params, wall, cpu, n, out.info)
    return Timed(out, wall, cpu, n, {})


def fit_ours(model: str, signal: np.ndarray, t10_s: np.ndarray, detect_delay: bool = False) -> dm.DceMaps:
    """Our engine end to end: SPGR signal -> concentration -> maps (parameters in our units)."""
    t_s = frame_times()
    conc, _ok = dm.signal_to_concentration(signal, t10_s, TR_S, FLIP_DEG, R1_PER_MM_S, N_BASELINE)
    aif = dm.make_aif("parker", t_s, HCT)
    return dm.fit_dce_maps(
        model,
        conc,
        t_s,
        aif,
        delay_range=(0.0, float(t_s[N_BASELINE + 1])),  # as mri_fit: up to the frame after the baseline
        fit_delay=False,
        fixed_delay_s=None if detect_delay else DELAY_S,
    )


def dcmri_inputs(t10_s: np.ndarray) -> dict[str, object]:
    """Keyword arguments that make dcmri see what our engine sees (same AIF grid, constants and units).

    dcmri works in seconds and molar: ca is the Parker whole-blood curve in M on our 0.5 s AIF grid (arrival
    at DELAY_S), H = our hematocrit (dcmri divides ca by 1 - H for plasma, as we do), r1 in /M/s.
    """
    step = dm.fine_step(frame_times())
    grid = np.arange(0.0, frame_times()[-1] + step / 2, step)
    ca_M = plasma_aif_mM(grid) * (1.0 - HCT) / 1000.0
    return {
        "ca": ca_M,
        "dt": step,
        "H": HCT,
        "R10": 1.0 / np.asarray(t10_s, dtype=float),
        "r1": R1_PER_MM_S * 1000.0,
        "TR": TR_S,
        "FA": FLIP_DEG,
        "n0": N_BASELINE,
    }


def dcmri_to_ours(kinetics: str, p: dict[str, np.ndarray], hct: float = HCT) -> dict[str, np.ndarray]:
    """dcmri free parameters (/s, blood volumes) -> our keys and units (/min, plasma volumes)."""
    vp = p["vb"] * (1.0 - hct)
    if kinetics == "HF":
        return {"ktrans_per_min": p["PS"] * 60.0, "ve": p["vi"], "vp": vp}
    if kinetics == "WV":
        return {"ktrans_per_min": p["Ktrans"] * 60.0, "ve": p["vi"]}
    fp, ps = p["Fb"] * (1.0 - hct) * 60.0, p["PS"] * 60.0
    return {
        "fp_ml_per_min_per_ml": fp,
        "ps_ml_per_min_per_ml": ps,
        "ve": p["vi"],
        "vp": vp,
        "ktrans_per_min": fp * ps / (fp + ps),
    }


def fit_dcmri(kinetics: str, signal: np.ndarray, t10_s: np.ndarray) -> dict[str, np.ndarray]:
    import dcmri as dc

    n = signal.shape[0]
    arr = dc.TissueArray((n,), kinetics=kinetics, water_exchange="FF", sequence="SS", **dcmri_inputs(t10_s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arr.train(frame_times(), signal)
    return dcmri_to_ours(kinetics, {name: np.asarray(getattr(arr, name), dtype=float) for name in arr.free})


def median_rel_err(est: np.ndarray, truth: np.ndarray) -> float:
    """Median |est - truth| / truth; a voxel without an estimate (NaN) counts as an infinite error."""
    err = np.abs(est - truth) / truth
    return float(np.median(np.where(np.isfinite(err), err, np.inf)))


def _line(name: str, t: Timed, n_extrapolate: int | None = None) -> str:
    per = t.wall_s / t.n_voxels
    cpu_per = t.cpu_s / t.n_voxels
    head = f"  {name:34s} {t.wall_s:7.2f} s wall, {t.cpu_s:7.2f} s CPU on {t.n_voxels} voxels"
    tail = f" = {per * 1e3:8.3f} ms/voxel, {per * 1e4:8.1f} s per 10,000 voxels (CPU {cpu_per * 1e4:.1f} s)"
    if n_extrapolate:
        tail += f"; EXTRAPOLATED to {n_extrapolate} voxels: {per * n_extrapolate:.1f} s"
    return head + tail


def run_model(model: str, args: argparse.Namespace, have_dcmri: bool) -> None:
    kinetics, keys = MODELS[model]
    rng = np.random.default_rng(args.seed)
    truth = draw_truth(model, args.n, rng)
    t_s = frame_times()
    signal = spgr_signals(tissue_truth_mM(model, truth, t_s), truth["t10_s"], args.snr, rng)
    subset = np.sort(rng.choice(args.n, size=min(args.subset, args.n), replace=False))
    print(
        f"\n--- {model} (dcmri kinetics '{kinetics}'): {args.n} voxels, {N_FRAMES} frames every {DT_S} s, "
        f"SNR {args.snr:g} on the signal ---"
    )
    ours = _timed(lambda: fit_ours(model, signal, truth["t10_s"]), args.n)
    ours_detect = _timed(lambda: fit_ours(model, signal, truth["t10_s"], detect_delay=True), args.n)
    print(_line("ours (known arrival)", ours))
    print(_line("ours (arrival detected, mri_fit)", ours_detect))
    missing = int(np.sum(~np.isfinite(ours.params[keys[0]])))
    print(
        f"  ours: {missing} of {args.n} voxels without an estimate; arrival detected from the data "
        f"{ours_detect.info['delay_detected_s']:.2f} s (truth {DELAY_S:g} s)"
    )
    peer: Timed | None = None
    if have_dcmri:
        peer = _timed(lambda: fit_dcmri(kinetics, signal[subset], truth["t10_s"][subset]), subset.size)
        print(_line("dcmri TissueArray (subset)", peer, n_extrapolate=args.n))
        per_ours, per_peer = ours.wall_s / ours.n_voxels, peer.wall_s / peer.n_voxels
        cpu_ratio = (peer.cpu_s / peer.n_voxels) / (ours.cpu_s / ours.n_voxels)
        print(
            f"  speed ratio dcmri / ours (per voxel, known arrival): {per_peer / per_ours:.1f}x wall, "
            f"{cpu_ratio:.1f}x CPU (> 1 = ours faster)"
        )
    head = "ours all | ours subset | ours detected subset"
    print(f"  median |est - truth| / truth ({head}{' | dcmri subset' if peer else ''}):")
    for key in keys:
        cells = [
            median_rel_err(ours.params[key], truth[key]),
            median_rel_err(ours.params[key][subset], truth[key][subset]),
            median_rel_err(ours_detect.params[key][subset], truth[key][subset]),
        ]
        if peer:
            cells.append(median_rel_err(peer.params[key], truth[key][subset]))
        print(f"    {key:22s} " + " | ".join(f"{c:7.4f}" for c in cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="voxels fitted by our engine")
    ap.add_argument("--subset", type=int, default=150, help="random subset of those fitted by dcmri")
    ap.add_argument("--snr", type=float, default=20.0, help="pre-contrast signal / noise SD")
    ap.add_argument("--models", default="etofts,2cxm", help="comma list of etofts, 2cxm")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    try:
        import dcmri

        have_dcmri = True
        peer_version = getattr(dcmri, "__version__", "")
        if not peer_version:
            from importlib.metadata import version

            peer_version = version("dcmri")
    except ImportError:
        have_dcmri, peer_version = False, ""
        print("dcmri is not installed (pip install -e '.[bench]'): printing our figures alone")
    print(
        f"DCE engines on the same voxels: ours (quant.mri.dce_mapping) vs dcmri {peer_version}; "
        f"Parker AIF, Hct {HCT}, r1 {R1_PER_MM_S} /mM/s, TR {TR_S * 1e3:g} ms, FA {FLIP_DEG:g} deg, "
        f"T10 0.8-1.6 s, Gaussian noise SD = baseline signal / {args.snr:g}"
    )
    for name in args.models.split(","):
        run_model(ALIASES[name.strip()], args, have_dcmri)


if __name__ == "__main__":
    main()
