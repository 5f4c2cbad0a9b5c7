"""Loaded with `-p tests.xdist_env` before Django reads its settings: under pytest-xdist each test worker gets
a Redis database and a media folder of its own (the test database is already per worker: test_<name>_gwN).

Without this, two workers would share throttle counts and cache keys (the same fixture usernames in both
test databases), and files stored under the same upload ids.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit


def _worker_index() -> int | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else None


def redis_url_for_worker(url: str, index: int) -> str:
    """The same server, database number (base + 1 + index): gw0 of redis://h:6379/0 uses /1."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{base + 1 + index}"))


_index = _worker_index()
if _index is not None:
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], _index)
    root = os.environ.get("MEDIA_ROOT") or os.path.join(
        os.path.dirname(os.path.dirname(__file__)), "var", "media"
    )
    os.environ["MEDIA_ROOT"] = f"{root.rstrip('/')}-gw{_index}"
