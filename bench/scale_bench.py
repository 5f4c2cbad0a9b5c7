"""Trial-scale benchmark (issue 17): every page small (the demo) against large (load_scale), and export memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd8pet .venv/bin/python bench/scale_bench.py \
        [--small-db cd8pet_scale_small] [--large-db cd8pet_scale_large] [--runs 3] [--reload] \
        [--sites 30 --participants 3000 --aes 100000 --audit 1000000 --scans 20000] [--no-exports]

Two databases on the DATABASE_URL server: the small one holds `load_demo`, the large one `load_scale` (both
are created, migrated and loaded when missing or empty, or again with --reload; the large load takes minutes).
Each database is measured in its own Python process (settings read DATABASE_URL once) with Django's test
client, DEBUG off, logged in as the data manager: per page one warm-up request, then `--runs` timed requests;
the median time, the query count (CaptureQueriesContext) and the response size are printed. Export memory:
each whole-trial file (ODM Snapshot, ODM Transactional, SDTM datasets) is streamed in a fresh process and the
peak RSS above the idle process is reported (ru_maxrss).
Targets (issue 17): large median <= 300 ms and queries equal to small (within 2); change feed <= 100 ms;
export peak <= 300 MB above idle.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    ("safety tables", "safety_tables"),
    ("imaging worklist", "worklist"),
    ("dashboard (data manager)", "dashboard"),
    ("AE change feed, first page", "ae_feed_first"),
    ("AE change feed, late page", "ae_feed_late"),
    ("participant feed, first page", "participant_feed"),
    ("lesions overview", "lesions"),
    ("participant list", "participants"),
    ("AE list", "aes"),
    ("participant page", "participant"),
    ("analyses page", "analyses"),
    ("API adverse-events list", "api_aes"),
    ("API pet-scans list", "api_scans"),
]
EXPORTS = [
    ("ODM Snapshot", "odm_snapshot"),
    ("ODM Transactional", "odm_transactional"),
    ("SDTM datasets", "sdtm"),
]


def db_url(base: str, name: str) -> str:
    return urlunparse(urlparse(base)._replace(path=f"/{name}"))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]


# -- child: one database ------------------------------------------------------------------------------------
def urls() -> dict[str, str]:
    from django.db.models import Count

    from exports.cursor import Position
    from trial.models import AuditEntry, Participant

    ae_entries = AuditEntry.objects.filter(app_label="safety", model="adverseevent").order_by("-txid", "-id")
    late = ae_entries.values_list("txid", "id")[min(2000, max(ae_entries.count() - 1, 0))]
    participant = (
        Participant.objects.filter(voided=False)
        .annotate(n=Count("adverse_events"))
        .order_by("-n", "id")
        .first()
    )
    return {
        "safety_tables": "/safety/tables/",
        "worklist": "/imaging/worklist/",
        "dashboard": "/",
        "ae_feed_first": "/api/v1/export/adverse-events/changes/?since=0",
        "ae_feed_late": f"/api/v1/export/adverse-events/changes/?since={Position(*late).encode()}",
        "participant_feed": "/api/v1/export/participants/changes/?since=0",
        "lesions": "/lesions/",
        "participants": "/participants/",
        "aes": "/safety/",
        "participant": f"/participants/{participant.pk}/",
        "analyses": "/pathology/analyses/",
        "api_aes": "/api/v1/adverse-events/",
        "api_scans": "/api/v1/pet-scans/",
    }


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def measure_pages(runs: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username="data_manager"))
    results = {}
    skip = set(os.environ.get("SCALE_BENCH_SKIP", "").split(","))  # page keys to leave out, comma-separated
    for key, url in urls().items():
        if key in skip:
            continue
        client.get(url)  # warm-up: caches and connections as a running server has them
        times, queries, sizes, status = [], [], [], None
        for _ in range(runs):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(url)
                body = _body(response)
                times.append((time.perf_counter() - started) * 1000)
            queries.append(len(ctx.captured_queries))
            sizes.append(len(body))
            status = response.status_code
        results[key] = {
            "url": url,
            "ms": statistics.median(times),
            "queries": int(statistics.median(queries)),
            "bytes": int(statistics.median(sizes)),
            "status": status,
        }
        print(key, json.dumps(results[key]), file=sys.stderr, flush=True)  # progress
    return results


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure_export(kind: str) -> dict:
    import tempfile
    import zipfile

    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.get(username="data_manager")
    client = Client()
    client.force_login(user)
    idle = _rss_mb()
    started = time.perf_counter()
    size = 0
    if kind == "sdtm":
        from exports import sdtm_data

        with tempfile.TemporaryFile() as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            sdtm_data.write_datasets_into(zf, user)
            zf.close()
            size = fh.tell()
    else:
        response = client.get(f"/api/v1/export/odm/?type={kind.removeprefix('odm_')}")
        chunks = response.streaming_content if response.streaming else [response.content]
        for chunk in chunks:
            size += len(chunk)
        if response.status_code != 200:
            return {"error": f"HTTP {response.status_code}"}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "s": time.perf_counter() - started,
        "bytes": size,
        "peak_above_idle_mb": peak - idle,
        "idle_mb": idle,
    }


# -- parent ---------------------------------------------------------------------------------------------------
def admin_sql(base: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(db_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(statement)


def has_data(base: str, name: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(db_url(base, name)) as conn:
            return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM trial_participant)").fetchone()[0])
    except psycopg.Error:
        return False


def prepare(base: str, name: str, load: list[str], reload: bool) -> None:
    if has_data(base, name) and not reload:
        return
    admin_sql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin_sql(base, f"CREATE DATABASE {name}")
    env = {**os.environ, "DATABASE_URL": db_url(base, name)}
    for argv in (["migrate", "--noinput", "-v0"], load):
        print(f"[{name}] manage.py {' '.join(argv)}", flush=True)
        subprocess.run([sys.executable, "manage.py", *argv], env=env, cwd=ROOT, check=True)


def child(url: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, *args], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def cell(r: dict) -> str:
    if "error" in r:
        return "error"
    flag = "" if r.get("status") == 200 else f" [HTTP {r.get('status')}]"
    return f"{r['ms']:,.0f} / {r['queries']} / {r['bytes'] / 1024:,.0f} KB{flag}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-db", default="cd8pet_scale_small")
    parser.add_argument("--large-db", default="cd8pet_scale_large")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reload", action="store_true", help="Drop and load both databases again.")
    parser.add_argument("--no-exports", action="store_true", help="Skip the export memory figures.")
    for name, default in (
        ("sites", 30),
        ("participants", 3000),
        ("aes", 100000),
        ("audit", 1000000),
        ("scans", 20000),
    ):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        setup_django(args.child[0])
        what = args.child[1]
        result = measure_pages(int(args.child[2])) if what == "pages" else measure_export(what)
        print(json.dumps(result))
        return 0
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cd8pet")
    scale = [
        "load_scale",
        *(f"--{k}={getattr(args, k)}" for k in ("sites", "participants", "aes", "audit", "scans")),
    ]
    prepare(base, args.small_db, ["load_demo"], args.reload)
    prepare(base, args.large_db, scale, args.reload)
    small = child(db_url(base, args.small_db), "pages", str(args.runs))
    large = child(db_url(base, args.large_db), "pages", str(args.runs))
    for label, r in (("small", small), ("large", large)):
        if "error" in r:
            print(f"{label}: {r['error']}")
            return 1
    print(f"\nPages (median of {args.runs}; ms / queries / size; data manager; DEBUG off)")
    print(f"| page | small ({args.small_db}) | large ({args.large_db}) | target |")
    print("|---|---|---|---|")
    failed = 0
    for label, key in PAGES:
        if key not in small or key not in large:
            continue
        s, lg = small[key], large[key]
        limit = 100 if "feed" in key else 300
        ok = lg["ms"] <= limit and abs(lg["queries"] - s["queries"]) <= 2 and lg["status"] == 200
        failed += not ok
        print(f"| {label} | {cell(s)} | {cell(lg)} | {'ok' if ok else 'MISSED'} (<= {limit} ms) |")
    if not args.no_exports:
        print("\nWhole-trial exports on the large database (fresh process each; peak RSS above idle)")
        print("| export | time s | size MB | peak MB above idle | target |")
        print("|---|---|---|---|---|")
        for label, kind in EXPORTS:
            r = child(db_url(base, args.large_db), kind)
            if "error" in r:
                print(f"| {label} | error: {r['error'][:120]} | | | |")
                failed += 1
                continue
            ok = r["peak_above_idle_mb"] <= 300
            failed += not ok
            print(f"| {label} | {r['s']:.1f} | {r['bytes'] / 1e6:.1f} | {r['peak_above_idle_mb']:.0f} | "
                  f"{'ok' if ok else 'MISSED'} (<= 300 MB) |")  # fmt: skip
    print(f"\n{failed} target(s) missed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
