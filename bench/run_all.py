"""Run every benchmark in turn and print its figures (`make bench`). Each script also runs on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = [
    ("PET SUV engine and pet_suv command (issue 4)", ["pet_suv_bench.py", "--runs", "5"]),
    (
        "Enhanced and Legacy Converted PET read vs classic files, pydicom and SimpleITK (issue 14)",
        ["enhanced_pet_bench.py", "--runs", "3"],
    ),
    ("Upload to results through a real worker (issue 4)", ["upload_to_results_bench.py"]),
    ("Voxel-wise extended Tofts, vectorised vs curve_fit (issue 5)", ["dce_voxelwise_bench.py"]),
    ("IBSI 1 phantom feature table (issue 5)", ["ibsi1_table.py", "--failures-only"]),
    ("IBSI 1 texture on 64^3 vs pyradiomics (issue 15)", ["texture_bench.py", "--runs", "3"]),
    ("Voxel-wise IVIM and DKI vs dipy on the same voxels (issue 15)", ["mri_diffusion_bench.py"]),
    ("Voxel-wise DCE (extended Tofts, 2CXM) vs dcmri on the same voxels (issue 15)", ["dce_dcmri_bench.py"]),
    ("Streamed CSV export vs COPY, peak memory (issue 7)", ["export_bench.py"]),
    ("Trial-scale pages and whole-trial export memory, demo vs load_scale (issue 17)", ["scale_bench.py"]),
]


def main() -> int:
    env = {**os.environ}
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    failed = 0
    for title, argv in SCRIPTS:
        print(f"\n=== {title} ===", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(BENCH / argv[0]), *argv[1:]], env=env, cwd=BENCH.parent)
        print(f"(exit {result.returncode}, {time.monotonic() - started:.0f} s)", flush=True)
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
