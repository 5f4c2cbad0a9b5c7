"""Start a real Celery worker process against the test database and Redis, for `worker`-marked tests.

Use in a test marked `@pytest.mark.django_db(transaction=True)` (the worker must see committed rows):

    def test_x(celery_worker_process): ...   # fixture defined in tests/conftest.py

While the fixture is active, `.delay()` goes through Redis to that worker (not eager) on a queue of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def running_worker(
    extra_env: dict[str, str] | None = None,
    *,
    queue: str | None = None,
    pool: str = "solo",
    extra_args: tuple[str, ...] = (),
    log_path: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """A worker on its own queue (pass `queue` to restart one on the same queue), in its own process group.

    `pool="prefork"` gives a main process and a pool child, as in production (`os.killpg` kills both).
    """
    queue = queue or f"test-{uuid.uuid4().hex[:8]}"
    db = settings.DATABASES["default"]
    db_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{connection.settings_dict['NAME']}"
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "CELERY_DEFAULT_QUEUE": queue,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **(extra_env or {}),
    }
    log = log_path.open("a") if log_path else None
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "-Q",
            queue,
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{queue}@%h",
            *extra_args,
        ],
        cwd=ROOT,
        env=env,
        stdout=log or subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    previous = (
        celery_app.conf.task_always_eager,
        celery_app.conf.task_default_queue,
        celery_app.conf.broker_url,
        celery_app.conf.result_backend,
    )
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    celery_app.conf.broker_url = redis_url
    celery_app.conf.result_backend = redis_url
    try:
        _wait_until_ready(queue)
        yield proc
    finally:
        (
            celery_app.conf.task_always_eager,
            celery_app.conf.task_default_queue,
            celery_app.conf.broker_url,
            celery_app.conf.result_backend,
        ) = previous
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        kill_group(proc)  # pool children left behind, if any
        if log:
            log.close()


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the worker's whole process group: the main process and its pool children at once."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)


def _wait_until_ready(queue: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = celery_app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=1.0)
        if replies:
            return
    raise RuntimeError("Celery worker did not start within 60 s")


def wait_for(predicate, timeout: float = 60, interval: float = 0.25):
    """Poll until predicate() is truthy (a real worker works asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met within timeout")
