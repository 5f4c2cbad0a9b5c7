"""Benchmark: vectorised voxel-wise IVIM and DKI (quant.mri.diffusion_maps) against dipy on the same voxels.

IVIM: dipy IvimModel(fit_method="trr") vs quant.mri.diffusion_maps.fit_ivim_maps; DKI: dipy MSDKI
(MeanDiffusionKurtosisModel, the single-direction / mean-signal kurtosis model) vs fit_dki_maps.
Voxels: uniform random truths, Rician noise (SNR at b = 0 given below); the same signal arrays go to both.
Prints seconds, the speed ratio (dipy time / ours) and the median absolute errors of each parameter.
Run: .venv/bin/python bench/mri_diffusion_bench.py [--n-ivim 2000] [--n-dki 20000] [--seed 0]
Needs the ``bench`` extra (dipy).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quant.mri import phantom_dicom as ph  # noqa: E402
from quant.mri.diffusion_maps import fit_dki_maps, fit_ivim_maps  # noqa: E402

B_IVIM = np.array([0, 10, 20, 40, 60, 100, 150, 200, 400, 600, 800, 1000.0])
B_DKI = np.array([0, 0, 500, 500, 1000, 1000, 1500, 1500, 2000, 2000.0])


def _gtab(b: np.ndarray):
    from dipy.core.gradients import gradient_table

    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(b.size, 3))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs[b == 0] = 0
    return gradient_table(b, bvecs=vecs, b0_threshold=0)


def _err(a: np.ndarray, truth: np.ndarray, rel: bool) -> float:
    ok = np.isfinite(a)
    d = np.abs(a[ok] - truth[ok]) / (truth[ok] if rel else 1.0)
    return float(np.median(d)) if d.size else float("nan")


def bench_ivim(n: int, seed: int) -> None:
    from dipy.reconst.ivim import IvimModel

    rng = np.random.default_rng(seed)
    f, d, ds = rng.uniform(0.05, 0.3, n), rng.uniform(5e-4, 2e-3, n), rng.uniform(0.01, 0.08, n)
    sig = ph.add_rician_noise(
        ph.ivim_spec(np.full(n, 1000.0), f, d, ds, B_IVIM), 1000.0 / 50, seed=seed
    ).volumes
    t0 = time.perf_counter()
    ours = fit_ivim_maps(B_IVIM, sig)
    t_ours = time.perf_counter() - t0
    model = IvimModel(_gtab(B_IVIM), fit_method="trr")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(sig)
    t_dipy = time.perf_counter() - t0
    print(f"IVIM trr, {n} voxels, SNR 50, {B_IVIM.size} b-values")
    print(f"  time: quant.mri {t_ours:.2f} s, dipy {t_dipy:.2f} s, ratio dipy/ours {t_dipy / t_ours:.1f}")
    for name, mine, theirs, truth, rel in (
        ("f (abs)", ours.params["f"], fit.perfusion_fraction, f, False),
        ("D (rel)", ours.params["d_mm2_per_s"], fit.D, d, True),
        ("D* (rel)", ours.params["dstar_mm2_per_s"], fit.D_star, ds, True),
    ):
        print(
            f"  median error {name}: quant.mri {_err(mine, truth, rel):.4f}, dipy {_err(np.asarray(theirs), truth, rel):.4f}"
        )


def bench_dki(n: int, seed: int) -> None:
    from dipy.reconst.msdki import MeanDiffusionKurtosisModel

    rng = np.random.default_rng(seed)
    d, k = rng.uniform(6e-4, 1.2e-3, n), rng.uniform(0.5, 1.2, n)
    sig = ph.add_rician_noise(ph.dki_spec(np.full(n, 1000.0), d, k, B_DKI), 1000.0 / 20, seed=seed).volumes
    t0 = time.perf_counter()
    ours = fit_dki_maps(B_DKI, sig)
    t_ours = time.perf_counter() - t0
    model = MeanDiffusionKurtosisModel(_gtab(B_DKI))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(sig)
    t_dipy = time.perf_counter() - t0
    print(f"DKI vs dipy MSDKI, {n} voxels, SNR 20, b = {sorted(set(B_DKI.tolist()))} (2 each)")
    print(f"  time: quant.mri {t_ours:.2f} s, dipy {t_dipy:.2f} s, ratio dipy/ours {t_dipy / t_ours:.1f}")
    flagged = float(np.mean(ours.flags != 0))
    print(
        f"  every voxel estimated: {bool(np.all(np.isfinite(ours.params['k'])))}; flagged {100 * flagged:.1f} %"
    )
    for name, mine, theirs, truth, rel in (
        ("D (rel)", ours.params["d_mm2_per_s"], fit.msd, d, True),
        ("K (abs)", ours.params["k"], fit.msk, k, False),
    ):
        print(
            f"  median error {name}: quant.mri {_err(mine, truth, rel):.4f}, dipy {_err(np.asarray(theirs), truth, rel):.4f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-ivim", type=int, default=2000)
    parser.add_argument("--n-dki", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bench_ivim(args.n_ivim, args.seed)
    bench_dki(args.n_dki, args.seed)


if __name__ == "__main__":
    main()
