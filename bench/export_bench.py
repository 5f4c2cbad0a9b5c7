"""Streamed CSV export vs PostgreSQL COPY of the same columns, and peak memory, at 10k and 100k AEs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd8pet .venv/bin/python bench/export_bench.py [--rows 100000]

Creates (and drops at the end) a dedicated database `cd8pet_exportbench` on the same server, migrates it,
generates adverse events with SQL (nothing is committed to the repository), then for each size starts a
fresh Python process that (1) streams GET /api/v1/export/adverse-events/?format=csv through the real view
(Django test client, sponsor session) and (2) times `COPY (SELECT <same columns>) TO STDOUT` in the same
run. Each is repeated and the median kept; the child reports its peak RSS (ru_maxrss). Targets: view time
<= 2x COPY time; peak RSS < 200 MB at every size. The row-by-row Python writer (used on SQLite) is timed too.
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
BENCH_DB = "cd8pet_exportbench"


def bench_url(base: str) -> str:
    parts = urlparse(base)
    return urlunparse(parts._replace(path=f"/{BENCH_DB}"))


def admin_sql(base: str, statement: str) -> None:
    import psycopg

    parts = urlparse(base)
    with psycopg.connect(urlunparse(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(statement)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def seed(total: int) -> None:
    """Bring the AE count up to `total` (participants, a sponsor and CTCAE terms are created once)."""
    from django.db import connection

    from tests import factories
    from trial.models import Role

    site = factories.make_site("NL01")
    factories.make_site("BE01", "UZ Leuven", "BE", "Europe/Brussels")
    factories.make_user("bench_sponsor", (site, Role.SPONSOR))
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM trial_participant")
        if cur.fetchone()[0] == 0:
            cur.execute("""
                INSERT INTO trial_participant (site_id, sequence_number, study_id, year_of_birth, sex, height_cm,
                    weight_kg, tumour_type, planned_anti_pd1, status, status_date, created_at, updated_at, voided,
                    void_reason)
                SELECT s.id, g, s.code || '-' || lpad(g::text, 3, '0'), 1950 + g % 30, CASE WHEN g % 2 = 0
                    THEN 'F' ELSE 'M' END, 170.0, 70.5, 'Melanoma', 'nivolumab', 'on_treatment', DATE '2026-01-05',
                    now(), now(), false, ''
                FROM trial_site s, generate_series(1, 250) g""")
        cur.execute("SELECT count(*) FROM safety_adverseevent")
        have = cur.fetchone()[0]
        if have >= total:
            return
        cur.execute(
            """
            INSERT INTO safety_adverseevent (participant_id, term_id, ctcae_version, verbatim_term, grade,
                onset_date, onset_precision, end_date, end_precision, ongoing, serious, sae_death,
                sae_life_threatening, sae_hospitalisation, sae_disability, sae_congenital_anomaly,
                sae_other_important, sae_aware_at, outcome, death_date, action_anti_pd1, anti_pd1_drug,
                immune_related, rel_tracer, rel_pet, rel_biopsy, rel_anti_pd1, description, out_of_window,
                out_of_window_reason, previous_id, created_at, updated_at, voided, voided_at, void_reason)
            SELECT p.ids[1 + mod(g, array_length(p.ids, 1))], t.ids[1 + mod(g, array_length(t.ids, 1))], '5.0', '',
                1 + mod(g, 3), CASE WHEN mod(g, 7) = 0 THEN '2026-02' ELSE '2026-02-' || lpad((1 + mod(g, 28))::text, 2, '0') END,
                CASE WHEN mod(g, 7) = 0 THEN 'month' ELSE 'day' END, '', '', true, mod(g, 11) = 0, false, false,
                mod(g, 11) = 0, false, false, false, CASE WHEN mod(g, 11) = 0 THEN now() END, 'not_recovered', NULL,
                'dose_not_changed', 'nivolumab', mod(g, 5) = 0, 'unrelated', 'unlikely', 'unrelated', 'possible',
                'Generated for the export benchmark', false, '', NULL, now(), now(), false, NULL, ''
            FROM generate_series(%s, %s) g,
                 (SELECT array_agg(id ORDER BY id) ids FROM trial_participant) p,
                 (SELECT array_agg(id ORDER BY id) ids FROM safety_ctcaeterm WHERE version = '5.0') t""",
            [have + 1, total],
        )
        cur.execute("ANALYZE safety_adverseevent")


def child(repeats: int) -> dict:
    """Run in a fresh process: time the view stream and COPY of the same columns; report peak RSS."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from exports import copy_csv, selectors
    from exports.csv_stream import stream_csv
    from exports.resources import load_all

    ae = load_all()["adverse-events"]
    user = get_user_model().objects.get(username="bench_sponsor")
    client = Client()
    client.force_login(user)
    client.get("/api/v1/export/consents/", {"page_size": 1})  # warm-up: URLconf, every app's API module
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    view_times, copy_times, python_times, sizes = [], [], [], {}
    for _ in range(repeats):
        start = time.perf_counter()
        response = client.get("/api/v1/export/adverse-events/", {"format": "csv"})
        size = rows = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\n")
        response.close()
        view_times.append(time.perf_counter() - start)
        sizes["view_bytes"], sizes["view_lines"] = size, rows
    rss_view = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    qs = selectors.base_queryset(ae, user)
    inner = qs.order_by().values_list(*[c.key for c in ae.columns])
    sql, params = inner.query.sql_with_params()
    import psycopg

    statement = psycopg.ClientCursor(connection.connection).mogrify(
        f"COPY ({sql} ORDER BY 1) TO STDOUT WITH (FORMAT csv)", params
    )
    for _ in range(repeats):
        start = time.perf_counter()
        size = 0
        with connection.cursor() as cur, cur.cursor.copy(statement) as copy:
            for block in copy:
                size += len(block)
        copy_times.append(time.perf_counter() - start)
        sizes["copy_bytes"] = size
    start = time.perf_counter()
    size = sum(len(c) for c in stream_csv(ae.csv_header(), selectors.csv_rows(ae, qs)))
    python_times.append(time.perf_counter() - start)
    return {
        "view_s": statistics.median(view_times),
        "copy_s": statistics.median(copy_times),
        "python_writer_s": python_times[0],
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_peak_after_view": round(rss_view, 1),
        "rss_mb_peak_after_python_writer": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
        **sizes,
        "copy_module": copy_csv.__name__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cd8pet")
    if args.child:
        setup_django(bench_url(base))
        print(json.dumps(child(args.repeats)))
        return
    if not base.startswith("postgres"):
        sys.exit("DATABASE_URL must point at PostgreSQL (the bench compares against COPY).")
    admin_sql(base, f"DROP DATABASE IF EXISTS {BENCH_DB}")
    admin_sql(base, f"CREATE DATABASE {BENCH_DB}")
    try:
        setup_django(bench_url(base))
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        results = {}
        for total in (args.small, args.rows):
            seed(total)
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--repeats", str(args.repeats)],
                capture_output=True,
                text=True,
                env={**os.environ, "DATABASE_URL": base},
                check=True,
            )
            results[total] = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{'AEs':>8} {'view s':>8} {'COPY s':>8} {'ratio':>6} {'py-writer s':>11} {'RSS MB':>7} {'MB out':>7}"
        )
        for total, r in results.items():
            ratio = r["view_s"] / r["copy_s"]
            print(
                f"{total:>8} {r['view_s']:>8.3f} {r['copy_s']:>8.3f} {ratio:>6.2f} {r['python_writer_s']:>11.3f} "
                f"{r['rss_mb_peak_after_view']:>7.1f} {r['view_bytes'] / 1e6:>7.1f}"
            )
            print(
                f"         target ratio <= 2.00: {'OK' if ratio <= 2 else 'MISSED'}; "
                f"peak RSS < 200 MB: {'OK' if r['rss_mb_peak_after_view'] < 200 else 'MISSED'} "
                f"(after a warm-up request {r['rss_mb_before']} MB; after the Python writer "
                f"{r['rss_mb_peak_after_python_writer']} MB); CSV lines {r['view_lines']}"
            )
        print(json.dumps(results, indent=1))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(base, f"DROP DATABASE IF EXISTS {BENCH_DB}")


if __name__ == "__main__":
    main()
