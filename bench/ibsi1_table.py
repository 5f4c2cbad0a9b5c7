"""Print our IBSI 1 digital-phantom features next to the reference values.

Usage: .venv/bin/python bench/ibsi1_table.py [--failures-only] [--timing RADIUS ...]
--timing times all families on a synthetic noisy sphere of RADIUS voxels (FBN 32 bins, 2x1x1 mm).
Columns: tag, reference, ours, tolerance, pass. A reference with tolerance 0 is given to 3 significant
digits, so it passes when our value rounds to it (see tests/quant/radiomics/ibsi1_reference.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.quant.radiomics.ibsi1_reference import (  # noqa: E402
    compute_phantom_features,
    load_reference,
    matches_reference,
)


def timing(radius: int) -> None:
    """Time each feature family on a gamma-noise sphere (generated here, nothing written)."""
    import numpy as np

    from quant.radiomics.texture import ALL_FAMILIES, Discretisation, TextureSettings, compute_features

    n = 2 * radius + 6
    z, y, x = np.mgrid[:n, :n, :n] - n // 2
    mask = x**2 + y**2 + z**2 <= radius**2
    image = np.random.default_rng(0).gamma(2.0, 1.5, size=mask.shape)
    disc = Discretisation("fbn", n_bins=32)
    total = 0.0
    for fam in ALL_FAMILIES:
        t0 = time.perf_counter()
        res = compute_features(
            image, mask, (2.0, 1.0, 1.0), TextureSettings(discretisation=disc, families=(fam,))
        )
        dt = time.perf_counter() - t0
        total += dt
        print(
            f"radius {radius:3d} ({int(mask.sum()):7d} voxels) {fam:6s} {len(res.features):4d} features {dt:7.3f} s"
        )
    print(f"radius {radius:3d} all families {total:.3f} s")


def main(argv: list[str]) -> int:
    if "--timing" in argv:
        for arg in argv[argv.index("--timing") + 1 :]:
            timing(int(arg))
        return 0
    only_failures = "--failures-only" in argv
    t0 = time.perf_counter()
    ours = compute_phantom_features()
    elapsed = time.perf_counter() - t0
    rows = load_reference()
    n_pass = n_fail = n_missing = n_noref = 0
    print(f"{'tag':34s} {'reference':>10s} {'ours':>12s} {'tol':>8s}  result")
    for row in rows:
        value = ours.get(row.tag)
        if row.value is None:
            status, n_noref = "no reference", n_noref + 1
        elif value is None:
            status, n_missing = "NOT IMPLEMENTED", n_missing + 1
        elif matches_reference(value, row.value, row.tolerance):
            status, n_pass = "pass", n_pass + 1
        else:
            status, n_fail = "FAIL", n_fail + 1
        if only_failures and status == "pass":
            continue
        ref = "" if row.value is None else f"{row.value:g}"
        tol = "" if row.tolerance is None else f"{row.tolerance:g}"
        ours_txt = "" if value is None else f"{value:.4g}"
        print(f"{row.tag:34s} {ref:>10s} {ours_txt:>12s} {tol:>8s}  {status}")
    print(
        f"\n{n_pass} pass, {n_fail} fail, {n_missing} not implemented, {n_noref} without reference "
        f"(of {len(rows)} rows); feature extraction took {elapsed * 1000:.0f} ms"
    )
    return 1 if n_fail else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
