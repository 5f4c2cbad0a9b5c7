"""Upload-to-results benchmark through a real Celery worker (PostgreSQL + Redis), generated data only.

Creates a throwaway test database, generates an 89Zr PET series (default 200 slices of 128x128,
4 mm voxels, 10 lesions) into a temp dir, then times:
  ingest   : the upload service (header pass, validation, SUV before/after de-identification, storage);
  worker   : commit -> results ready in a separate `celery worker` process (SUV volume + MIP);
  vois     : 10 sphere VOIs added in one transaction -> all metrics computed by the worker;
  total    : ingest + worker + vois.
Everything is removed afterwards (database, media, temp files).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd8pet REDIS_URL=redis://127.0.0.1:6379/0 \
     .venv/bin/python bench/upload_to_results_bench.py [--slices 200] [--size 128]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the benchmark runs a real worker.")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    scratch = Path(tempfile.mkdtemp(prefix="pet-bench-"))
    settings.MEDIA_ROOT = scratch / "media"
    settings.UPLOAD_TMP_DIR = scratch / "upload_tmp"
    settings.MEDIA_ROOT.mkdir()
    settings.UPLOAD_TMP_DIR.mkdir()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args, scratch)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(scratch, ignore_errors=True)


def run(args, scratch: Path) -> None:
    import numpy as np
    from django.db import transaction

    from imaging import services
    from imaging.models import SeriesUpload, UploadState, VoiResult
    from quant.pet.phantom import Lesion, PhantomSpec, write_phantom
    from tests import factories
    from tests.imaging.conftest import enrol_for_phantom
    from tests.worker import running_worker, wait_for
    from trial.models import Role
    from trial.reference_data import ensure_loaded

    ensure_loaded()
    site = factories.make_site()
    coordinator = factories.make_user("bench_coord", (site, Role.SITE_COORDINATOR))
    radiologist = factories.make_user("bench_rad", (site, Role.RADIOLOGIST))
    _participant, scan, _dose = enrol_for_phantom(coordinator, site)
    rng = np.random.default_rng(3)
    half = args.size * 4.0 / 2
    lesions = [
        Lesion(
            f"L{i}",
            (
                float(rng.uniform(-0.4, 0.4) * half),
                float(rng.uniform(-0.4, 0.4) * half),
                -300.0 + (i + 0.5) * args.slices * 4.0 / 10,
            ),
            float(rng.uniform(8, 16)),
            float(rng.uniform(3, 12)),
        )
        for i in range(10)
    ]
    started = time.perf_counter()
    info = write_phantom(
        str(scratch / "series"), PhantomSpec(shape=(args.slices, args.size, args.size), lesions=lesions)
    )
    generated = time.perf_counter() - started
    size_mb = sum(os.path.getsize(f) for f in info.files) / 1e6
    print(
        f"series: {args.slices} slices of {args.size}x{args.size} ({size_mb:.1f} MB), generated in {generated:.2f} s"
    )
    ctx = factories.ctx_for(radiologist)
    work = scratch / "work"
    work.mkdir()
    with running_worker() as proc:
        t0 = time.perf_counter()
        upload = services.series_upload_ingest(
            ctx=ctx, scan=scan, work_dir=work, files=[(Path(f), Path(f).name) for f in info.files]
        )
        t1 = time.perf_counter()

        def state():
            return SeriesUpload.objects.filter(
                pk=upload.pk, state__in=[UploadState.DONE, UploadState.FAILED]
            ).first()

        done = wait_for(state, timeout=600, interval=0.05)
        t2 = time.perf_counter()
        with transaction.atomic():
            vois = [
                services.voi_create_sphere(
                    ctx=ctx,
                    scan=scan,
                    name=les.name,
                    kind="lesion",
                    centre_mm=les.centre_mm,
                    radius_mm=les.radius_mm,
                )
                for les in lesions
            ]
        wait_for(
            lambda: VoiResult.objects.filter(voi__in=vois).count() == len(vois), timeout=600, interval=0.05
        )
        t3 = time.perf_counter()
        worst = max(
            abs(VoiResult.objects.get(voi=v).suv_mean - les.suv) / les.suv for v, les in zip(vois, lesions)
        )
        print(f"worker pid {proc.pid} (bench pid {os.getpid()}); upload state {done.state}")
        print(f"ingest (validate + SUV before/after de-id + store): {t1 - t0:6.2f} s")
        print(f"worker (SUV volume + MIP, after commit):           {t2 - t1:6.2f} s")
        print(f"10 sphere VOIs -> metrics by the worker:            {t3 - t2:6.2f} s")
        print(f"total upload-to-results:                            {t3 - t0:6.2f} s")
        print(
            f"largest relative SUVmean error over 10 lesions: {worst:.2e} (quantisation bound ~1/30000 per slice)"
        )


if __name__ == "__main__":
    main()
