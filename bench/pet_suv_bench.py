"""PET SUV engine benchmark: 400 slices of 200x200 with 10 VOIs, generated into a temp dir (never committed).

Prints: bare pydicom read of all files (dcmread + pixel_array), engine (read + validate + SUV +
10 VOIs, in process), whole ``manage.py pet_suv`` process, peak traced memory of the engine vs
pixel bytes, and the ratios against the targets engine/bare <= 1.3, process/bare <= 3,
peak <= 3 x pixel bytes (tracemalloc counts numpy buffers; the interpreter itself is excluded).

Run: .venv/bin/python bench/pet_suv_bench.py [--slices 400] [--size 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pydicom  # noqa: E402

from quant.pet.cli import run  # noqa: E402
from quant.pet.phantom import Lesion, PhantomSpec, write_phantom  # noqa: E402


def lesions(n_slices: int, size: int) -> list[Lesion]:
    """Ten spheres spread through the body."""
    out = []
    rng = np.random.default_rng(7)
    for i in range(10):
        x, y = rng.uniform(-0.45, 0.45, 2) * size * 4.0 * 0.5
        z = -300.0 + (i + 0.5) * n_slices * 4.0 / 10
        out.append(
            Lesion(
                f"lesion_{i}",
                (float(x), float(y), float(z)),
                float(rng.uniform(8, 20)),
                float(rng.uniform(3, 12)),
            )
        )
    return out


def bare_read(files: list[str]) -> float:
    start = time.perf_counter()
    for path in files:
        pydicom.dcmread(path).pixel_array  # noqa: B018
    return time.perf_counter() - start


def engine(options: dict) -> float:
    start = time.perf_counter()
    run(options)
    return time.perf_counter() - start


def process(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "pet_suv", *args], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"pet_suv failed: {proc.stderr.strip()}")
    return elapsed


def child_peak_rss_mb(cmd: list[str]) -> float:
    """Peak resident set size (MB) of one child process, via GNU time (a fork of this big process would count)."""
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    return float(proc.stderr.strip().splitlines()[-1]) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=400)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pet_bench_") as tmp:
        spec = PhantomSpec(shape=(ns.slices, ns.size, ns.size), lesions=lesions(ns.slices, ns.size))
        t0 = time.perf_counter()
        info = write_phantom(os.path.join(tmp, "series"), spec)
        print(f"generated {len(info.files)} files of {ns.size}x{ns.size} in {time.perf_counter() - t0:.1f} s")
        spheres = [
            f"{les.name}:{les.centre_mm[0]},{les.centre_mm[1]},{les.centre_mm[2]},{les.radius_mm}"
            for les in info.lesions[:10]
        ]
        options = {"series_dir": os.path.join(tmp, "series"), "sphere": spheres, "strict_zr89": True}
        args = [options["series_dir"], *sum((["--sphere", s] for s in spheres), []), "--json"]
        pixel_bytes = ns.slices * ns.size * ns.size * 2
        bare_read(info.files)  # warm the page cache
        bare = min(bare_read(info.files) for _ in range(ns.runs))
        eng = min(engine(options) for _ in range(ns.runs))
        proc = min(process(args) for _ in range(ns.runs))
        gc.collect()
        tracemalloc.start()
        run(options)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        manage = [sys.executable, str(ROOT / "manage.py"), "pet_suv", *args]
        rss_process = child_peak_rss_mb(manage)
        rss_interp = child_peak_rss_mb([sys.executable, "-c", "import quant.pet.cli"])
    print(f"bare pydicom read (dcmread + pixel_array), best of {ns.runs}: {bare:.3f} s")
    print(
        f"engine read+validate+SUV+10 VOIs, best of {ns.runs}:        {eng:.3f} s  ratio {eng / bare:.2f} (target <= 1.3)"
    )
    print(
        f"whole manage.py pet_suv process, best of {ns.runs}:          {proc:.3f} s  ratio {proc / bare:.2f} (target <= 3)"
    )
    print(
        f"engine peak traced memory: {peak / 1e6:.1f} MB for {pixel_bytes / 1e6:.1f} MB of pixels "
        f"= {peak / pixel_bytes:.2f} x (target <= 3)"
    )
    extra = rss_process - rss_interp
    print(
        f"pet_suv process peak RSS {rss_process:.1f} MB, interpreter+imports {rss_interp:.1f} MB: "
        f"{extra:.1f} MB above the interpreter = {extra * 1e6 / pixel_bytes:.2f} x pixel bytes (target <= 3)"
    )


if __name__ == "__main__":
    main()
