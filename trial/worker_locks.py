"""Claims that die with the worker: PostgreSQL session advisory locks held while a task works on a row.

A worker killed with SIGKILL loses its database connection, so PostgreSQL releases its locks at once; a
redelivered or re-queued copy of the task then takes the lock and finds out whether the work is done.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection


def _namespace(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextmanager
def work_lock(name: str, object_id: int) -> Iterator[None]:
    """Hold the lock on (name, object_id) for the block; waits while another live worker holds it."""
    if connection.vendor != "postgresql":  # the SQLite demo runs tasks in-process, one at a time
        yield
        return
    key = [_namespace(name), int(object_id)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        except DatabaseError:  # connection lost: PostgreSQL released the lock with the session
            pass
