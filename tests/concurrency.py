"""Real threads against PostgreSQL for concurrency tests (use with django_db(transaction=True))."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection


def _closing(fn: Callable[[], Any], out: list, i: int, barrier: threading.Barrier | None) -> None:
    try:
        if barrier is not None:
            barrier.wait(timeout=10)
        out[i] = fn()
    except Exception as exc:  # noqa: BLE001 - handed back to the test
        out[i] = exc
    finally:
        connection.close()


def start(fn: Callable[[], Any]) -> tuple[threading.Thread, list]:
    """Run `fn` in a thread with its own connection; `.join()` it, then read `out[0]`."""
    out: list = [None]
    thread = threading.Thread(target=_closing, args=(fn, out, 0, None))
    thread.start()
    return thread, out


def in_parallel(*fns: Callable[[], Any]) -> list:
    """Run the callables at the same moment, each in its own thread and connection; return their results."""
    out: list = [None] * len(fns)
    barrier = threading.Barrier(len(fns))
    threads = [threading.Thread(target=_closing, args=(fn, out, i, barrier)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def wait_for_lock_waiters(count: int, timeout: float = 10.0) -> None:
    """Block until `count` other sessions of this database are waiting for a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is cached per transaction otherwise
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} session(s) ended up waiting for a lock")
