"""Data built once for a test module, inside a transaction that is rolled back after the module's last test.

Each test still runs in its own savepoint (pytest-django's `db`), so what a test writes is gone before the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back_after_module(django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        assert connection.settings_dict["NAME"].startswith("test_"), "not the test database"
        try:
            with transaction.atomic():
                yield
                raise _Rollback
        except _Rollback:
            pass
