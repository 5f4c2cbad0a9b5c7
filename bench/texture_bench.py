"""Benchmark: IBSI 1 texture (quant.radiomics.texture.compute_features) against pyradiomics on a 64^3 volume.

The same image and mask (a smooth random 64^3 image, a sphere of radius 28 voxels, 1 x 1 x 1.5 mm voxels) go to
both, discretised to 32 bins (fixed bin number). pyradiomics runs its shape, first-order, GLCM, GLRLM, GLSZM,
GLDM and NGTDM classes (every feature of each, original image only); ours runs every IBSI 1 family (which also
holds local intensity, intensity-volume histogram and distance-zone matrices that pyradiomics lacks) and, for a
like-for-like figure, the families pyradiomics has. Prints the best of --runs wall times, the speed ratio
(pyradiomics time / ours: above 1 means ours is faster) and our per-family times, then the CPU seconds of
both (all threads; steadier than wall time when the machine is shared).
Run: .venv/bin/python bench/texture_bench.py [--runs 3] [--size 64]
Needs pyradiomics (not in the extras: it builds from source only with --no-build-isolation, versioneer and
wheel); without it the script says so and prints our times alone.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quant.radiomics.texture import (  # noqa: E402
    ALL_FAMILIES,
    Discretisation,
    TextureSettings,
    compute_features,
)

SPACING_ZYX = (1.5, 1.0, 1.0)
N_BINS = 32
# our families that pyradiomics also computes (shape, first order + histogram, GLCM, GLRLM, GLSZM, NGTDM, GLDM)
LIKE_PYRADIOMICS = ("morph", "stat", "ih", "cm", "rlm", "szm", "ngt", "ngl")


def phantom(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(image, mask) as (z, y, x): smoothed noise plus a bright blob; the mask is a centred sphere."""
    rng = np.random.default_rng(seed)
    img = rng.normal(100.0, 20.0, (size, size, size))
    for axis in range(3):  # cheap smoothing: running mean of 5 along each axis
        img = sum(np.roll(img, s, axis=axis) for s in range(-2, 3)) / 5.0
    z, y, x = np.mgrid[0:size, 0:size, 0:size] - (size - 1) / 2.0
    r = np.sqrt(z**2 + y**2 + x**2)
    img += 60.0 * np.exp(-((r / (0.25 * size)) ** 2))
    mask = r <= 0.44 * size
    return img, mask


def best(fn, runs: int) -> float:
    """Best wall time of `runs` calls; the CPU time (all threads) of that call is kept in CPU_TIMES."""
    times = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    wall, cpu = min(times)
    CPU_TIMES.append(cpu)
    return wall


CPU_TIMES: list[float] = []  # CPU seconds of each best run: steadier than wall time on a shared machine


def ours(img: np.ndarray, mask: np.ndarray, families: tuple[str, ...]) -> dict:
    settings = TextureSettings(discretisation=Discretisation("fbn", n_bins=N_BINS), families=families)
    return compute_features(img, mask, SPACING_ZYX, settings).features


def pyradiomics_runner(img: np.ndarray, mask: np.ndarray):
    import SimpleITK as sitk
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image = sitk.GetImageFromArray(img.astype(np.float64))
    image.SetSpacing(SPACING_ZYX[::-1])  # SimpleITK spacing is (x, y, z)
    label = sitk.GetImageFromArray(mask.astype(np.uint8))
    label.CopyInformation(image)
    extractor = featureextractor.RadiomicsFeatureExtractor(binCount=N_BINS, force2D=False)
    extractor.disableAllFeatures()
    for cls in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"):
        extractor.enableFeatureClassByName(cls)
    return lambda: extractor.execute(image, label)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    img, mask = phantom(args.size)
    print(f"volume {args.size}^3, ROI {int(mask.sum())} voxels, {N_BINS} bins, best of {args.runs} runs")
    ours(img, mask, ALL_FAMILIES)  # warm-up (imports, caches)
    t_all = best(lambda: ours(img, mask, ALL_FAMILIES), args.runs)
    t_like = best(lambda: ours(img, mask, LIKE_PYRADIOMICS), args.runs)
    cpu_like = CPU_TIMES[-1]
    print(f"ours, every IBSI 1 family ({len(ours(img, mask, ALL_FAMILIES))} features): {t_all:.3f} s")
    print(f"ours, the families pyradiomics has: {t_like:.3f} s")
    for family in ALL_FAMILIES:
        print(f"  {family:5s} {best(lambda f=family: ours(img, mask, (f,)), args.runs):.3f} s")
    try:
        run = pyradiomics_runner(img, mask)
    except ImportError as exc:
        print(f"pyradiomics is not installed ({exc}); no ratio")
        return 0
    n_py = len([k for k in run() if not k.startswith("diagnostics_")])  # warm-up
    t_py = best(run, args.runs)
    cpu_py = CPU_TIMES[-1]
    print(f"pyradiomics ({n_py} features): {t_py:.3f} s")
    print(
        f"ratio pyradiomics / ours: {t_py / t_like:.2f} (like for like), {t_py / t_all:.2f} (ours with every family)"
    )
    print(
        f"CPU seconds, like for like: ours {cpu_like:.3f}, pyradiomics {cpu_py:.3f}, ratio {cpu_py / cpu_like:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
