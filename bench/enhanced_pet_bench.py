"""Enhanced PET read benchmark: one classic PET series (default 300 slices of 192x192) as classic files, as one
Enhanced PET object and as one Legacy Converted Enhanced PET object, generated into a temp dir (never committed).

The objects are built by the test suite's own builders (tests/quant/enhanced_pet_objects.py: highdicom's
LegacyConvertedEnhancedPETImage, and the Enhanced PET object made from it). Best of --runs wall time (after one
untimed call) of: (a) bare pydicom (dcmread + pixel_array) of the classic files, (b) of the enhanced object, and
(b2) the latter plus each frame's ImagePositionPatient and RescaleSlope (pydicom parses sequences lazily, so (b)
parses none of the per-frame functional groups that any correct reader must); our read_pet_series on (c) the
classic files, (d) the enhanced object, (e) the legacy object; and the peer a user would pick instead, SimpleITK:
(f) ImageSeriesReader on the classic folder (GetGDCMSeriesFileNames + Execute + GetArrayFromImage), (g, h)
ReadImage + GetArrayFromImage on each single-file object. Each figure in seconds and MB/s of stored pixel bytes,
then the ratios ours-enhanced / bare-enhanced (and / b2), ours-enhanced / ours-classic, ours-classic /
SimpleITK-classic.

Checked while timing: the SUV volumes (stored values x rescale x SUV factor per slice) of the enhanced and legacy
objects equal the classic ones within rtol 1e-6 with the same affine within 1e-6 mm (the script exits 1
otherwise), and what SimpleITK gives is compared with our activity volume voxel by voxel on the patient grid
(its frames may come in another order), so a wrong geometry or wrong values are reported, not timed silently.
--profile prints the top cProfile entries of read_pet_series on the enhanced object (own time, then quant/).

Run: .venv/bin/python bench/enhanced_pet_bench.py [--slices 300] [--size 192] [--runs 3] [--profile]
SimpleITK is optional (pip install SimpleITK); without it the script says so and skips the peer figures.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pydicom  # noqa: E402

from quant.pet.phantom import PhantomSpec, write_phantom  # noqa: E402
from quant.pet.series import PetSeries, read_pet_series  # noqa: E402
from quant.pet.suv import compute_suv  # noqa: E402
from tests.quant.enhanced_pet_objects import legacy_converted, true_enhanced  # noqa: E402

try:
    import SimpleITK as sitk
except ImportError:  # optional peer
    sitk = None

RTOL, AFFINE_MM = 1e-6, 1e-6


def best(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Best wall time of ``runs`` calls after one untimed warm-up call, and the last call's result."""
    times, result = [], fn()  # first calls pay lazy imports and caches, which would decide --runs 1
    for _ in range(runs):
        result = None  # free the previous volume before the next run
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def bare_classic(files: list[str]) -> None:
    for path in files:
        pydicom.dcmread(path).pixel_array  # noqa: B018


def bare_single(path: str) -> None:
    pydicom.dcmread(path).pixel_array  # noqa: B018


def bare_enhanced_frames(path: str) -> None:
    """Bare read plus each frame's position and rescale: the per-frame groups any correct reader must parse."""
    ds = pydicom.dcmread(path)
    ds.pixel_array  # noqa: B018
    shared = ds.SharedFunctionalGroupsSequence[0]
    for frame in ds.PerFrameFunctionalGroupsSequence:
        frame.PlanePositionSequence[0].ImagePositionPatient  # noqa: B018
        rescale = frame.get("PixelValueTransformationSequence") or shared.PixelValueTransformationSequence
        rescale[0].RescaleSlope  # noqa: B018


def sitk_series(folder: str) -> tuple[Any, np.ndarray]:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    image = reader.Execute()
    return image, sitk.GetArrayFromImage(image)


def sitk_single(path: str) -> tuple[Any, np.ndarray]:
    image = sitk.ReadImage(path)
    return image, sitk.GetArrayFromImage(image)


def suv_volume(series: PetSeries) -> np.ndarray:
    """SUVbw per voxel, as tests/quant/test_enhanced_pet.py computes it."""
    result = compute_suv(series.header, strict_zr89=False)
    return series.volume * np.asarray(result.slice_factors, dtype=np.float32)[:, None, None]


def max_rel_diff(found: np.ndarray, expected: np.ndarray) -> float:
    """max |found - expected| / |expected| over voxels (inf where expected is 0 and found is not)."""
    diff = np.abs(found.astype(np.float64) - expected)
    scale = np.abs(expected.astype(np.float64))
    rel = np.divide(diff, scale, out=np.where(diff > 0, np.inf, 0.0), where=scale > 0)
    return float(rel.max())


def sitk_affine(image: Any) -> np.ndarray:
    """SimpleITK's index (x, y, z) -> patient (LPS) mm, as a 4x4 matrix like Geometry.affine."""
    out = np.eye(4)
    out[:3, :3] = np.array(image.GetDirection()).reshape(3, 3) * np.array(image.GetSpacing())
    out[:3, 3] = image.GetOrigin()
    return out


def on_our_grid(image: Any, array: np.ndarray, ours: PetSeries) -> tuple[np.ndarray | None, str]:
    """SimpleITK's array reindexed onto our voxel grid, or None with why when its grid is not ours."""
    if array.shape != ours.volume.shape:
        return None, f"shape {array.shape} instead of {ours.volume.shape}"
    mapping = np.linalg.inv(ours.geometry.affine) @ sitk_affine(image)
    signs = np.round(np.diag(mapping)[:3])
    if not (
        np.allclose(mapping[:3, :3], np.diag(signs), atol=1e-6)
        and np.all(np.abs(signs) == 1)
        and np.allclose(
            mapping[:3, 3], [0 if s > 0 else n - 1 for s, n in zip(signs, ours.volume.shape[::-1])]
        )
    ):
        return None, f"another grid: our index = {np.round(mapping, 4).tolist()} @ its index"
    flips = tuple(2 - axis for axis in range(3) if signs[axis] < 0)  # array axes are (z, y, x)
    flipped = [("x", "y", "z")[2 - a] for a in flips]
    note = "same grid" + (f" (its {', '.join(flipped)} axis reversed)" if flipped else "")
    return (np.flip(array, axis=flips) if flips else array), note


def peer_check(label: str, image: Any, array: np.ndarray, ours: PetSeries) -> None:
    """Print whether SimpleITK's geometry and activity values match ours (rtol 1e-6 per voxel)."""
    aligned, note = on_our_grid(image, array, ours)
    if aligned is None:
        print(f"  {label}: geometry WRONG, {note}")
        return
    rel = max_rel_diff(aligned, ours.volume)
    per_slice = [max_rel_diff(aligned[k], ours.volume[k]) for k in range(aligned.shape[0])]
    wrong = sum(r > RTOL for r in per_slice)
    verdict = "values equal" if wrong == 0 else f"values WRONG in {wrong} of {len(per_slice)} slices"
    print(f"  {label}: geometry {note}; {verdict} (max relative difference {rel:.2e})")
    if wrong:
        print(f"    {single_slope(aligned, ours)}")


def single_slope(aligned: np.ndarray, ours: PetSeries) -> str:
    """Whether the peer's wrong slices are explained by one RescaleSlope applied to every frame."""
    applied = []
    for k in range(aligned.shape[0]):
        mask = ours.volume[k] != 0
        if mask.any():
            applied.append(float(np.median(aligned[k][mask] / ours.volume[k][mask])) * ours.rescale_slopes[k])
    spread = (max(applied) - min(applied)) / abs(np.median(applied)) if applied else float("nan")
    slopes = sorted(set(ours.rescale_slopes))
    if spread < 1e-4:
        return (
            f"every slice is scaled by one RescaleSlope {np.median(applied):.6g} instead of its own "
            f"(the series has {len(slopes)} slopes, {slopes[0]:.6g} to {slopes[-1]:.6g})"
        )
    return f"not explained by a single RescaleSlope (implied slopes spread {spread:.2g})"


def check_equal(name: str, other: PetSeries, classic: PetSeries, suv_classic: np.ndarray) -> bool:
    suv_other = suv_volume(other)
    rel = max_rel_diff(suv_other, suv_classic)
    affine = float(np.max(np.abs(other.geometry.affine - classic.geometry.affine)))
    ok = suv_other.shape == suv_classic.shape and rel <= RTOL and affine <= AFFINE_MM
    print(
        f"SUV {name} vs classic: max relative difference {rel:.2e} (rtol {RTOL:g}), "
        f"affine {affine:.1e} mm: {'equal' if ok else 'DIFFERENT'}"
    )
    return ok


def figure(label: str, seconds: float, pixel_bytes: int) -> None:
    print(f"{label:<56} {seconds:8.3f} s  {pixel_bytes / seconds / 1e6:8.1f} MB/s")


def profile(path: str, top: int = 15) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(read_pet_series, [path])
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print("\ncProfile of read_pet_series on the enhanced object, by own time:")
    stats.sort_stats("tottime").print_stats(top)
    print("the same, our functions (quant/) by cumulative time:")
    stats.sort_stats("cumulative").print_stats("quant/", top)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile read_pet_series on the enhanced object"
    )
    ns = parser.parse_args()
    logging.getLogger("highdicom").setLevel(logging.ERROR)  # legacy conversion notes on omitted attributes
    with tempfile.TemporaryDirectory(prefix="enhanced_pet_bench_") as tmp:
        folder = os.path.join(tmp, "series")
        t0 = time.perf_counter()
        info = write_phantom(folder, PhantomSpec(shape=(ns.slices, ns.size, ns.size)))
        t1 = time.perf_counter()
        enhanced = str(true_enhanced(info.files, Path(tmp) / "enhanced.dcm"))
        t2 = time.perf_counter()
        legacy = str(legacy_converted(info.files, Path(tmp) / "legacy.dcm"))
        t3 = time.perf_counter()
        print(
            f"generated {len(info.files)} classic files of {ns.size}x{ns.size} in {t1 - t0:.1f} s; "
            f"Enhanced PET in {t2 - t1:.1f} s ({os.path.getsize(enhanced) / 1e6:.1f} MB), "
            f"Legacy Converted in {t3 - t2:.1f} s ({os.path.getsize(legacy) / 1e6:.1f} MB)"
        )
        first = pydicom.dcmread(info.files[0], stop_before_pixels=True)
        pixel_bytes = len(info.files) * int(first.Rows) * int(first.Columns) * int(first.BitsAllocated) // 8
        return measure(ns, info.files, folder, enhanced, legacy, pixel_bytes)


def measure(
    ns: argparse.Namespace, files: list[str], folder: str, enhanced: str, legacy: str, pixel_bytes: int
) -> int:
    bare_classic(files)  # warm the page cache
    bare_single(enhanced)
    runs = ns.runs
    t_bare_c, _ = best(lambda: bare_classic(files), runs)
    t_bare_e, _ = best(lambda: bare_single(enhanced), runs)
    t_bare_f, _ = best(lambda: bare_enhanced_frames(enhanced), runs)
    t_ours_c, classic = best(lambda: read_pet_series(files), runs)
    suv_classic = suv_volume(classic)
    t_ours_e, ours_e = best(lambda: read_pet_series([enhanced]), runs)
    ok = check_equal("enhanced", ours_e, classic, suv_classic)
    del ours_e
    t_ours_l, ours_l = best(lambda: read_pet_series([legacy]), runs)
    ok = check_equal("legacy converted", ours_l, classic, suv_classic) and ok
    del ours_l, suv_classic
    peers: dict[str, float] = {}
    if sitk is None:
        print("SimpleITK is not installed (pip install SimpleITK): peer figures skipped")
    else:
        print(
            f"SimpleITK {sitk.Version.VersionString()}, {sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()} threads"
        )
        peers["classic"], (image, array) = best(lambda: sitk_series(folder), runs)
        peer_check("ImageSeriesReader on the classic files", image, array, classic)
        for label, path in (("enhanced", enhanced), ("legacy converted", legacy)):
            try:
                peers[label], (image, array) = best(lambda p=path: sitk_single(p), runs)
            except RuntimeError as exc:
                print(f"  ReadImage on the {label} object FAILED: {str(exc).strip().splitlines()[-1]}")
                continue
            peer_check(f"ReadImage on the {label} object", image, array, classic)
        del image, array
    print(f"\nbest of {runs}; {pixel_bytes / 1e6:.1f} MB of stored pixels")
    figure("(a) bare pydicom, classic files", t_bare_c, pixel_bytes)
    figure("(b) bare pydicom, enhanced object", t_bare_e, pixel_bytes)
    figure("(b2) bare pydicom, enhanced + frames' position, rescale", t_bare_f, pixel_bytes)
    figure("(c) ours read_pet_series, classic files", t_ours_c, pixel_bytes)
    figure("(d) ours read_pet_series, enhanced object", t_ours_e, pixel_bytes)
    figure("(e) ours read_pet_series, legacy converted object", t_ours_l, pixel_bytes)
    for key, label in (
        ("classic", "(f) SimpleITK ImageSeriesReader, classic files"),
        ("enhanced", "(g) SimpleITK ReadImage, enhanced object"),
        ("legacy converted", "(h) SimpleITK ReadImage, legacy converted object"),
    ):
        if key in peers:
            figure(label, peers[key], pixel_bytes)
    print(f"ours-enhanced / bare-enhanced:                   {t_ours_e / t_bare_e:.2f}")
    print(f"ours-enhanced / bare-enhanced with frames (b2):  {t_ours_e / t_bare_f:.2f}")
    print(f"ours-enhanced / ours-classic:                    {t_ours_e / t_ours_c:.2f}")
    if "classic" in peers:
        print(f"ours-classic / SimpleITK-classic:                {t_ours_c / peers['classic']:.2f}")
    if ns.profile:
        profile(enhanced)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
