"""Date arithmetic in SQL gives a date on PostgreSQL (the suite) and on SQLite (the embedded demo)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper
from django.db.models import DateField, Value
from django.db.models.sql import Query

from trial.models import Visit
from trial.sql import MinusDays, PlusDays

SQLITE = {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": ":memory:",
    "OPTIONS": {},
    "TIME_ZONE": None,
    "AUTOCOMMIT": True,
    "ATOMIC_REQUESTS": False,
    "CONN_MAX_AGE": 0,
    "CONN_HEALTH_CHECKS": False,
    "USER": "",
    "PASSWORD": "",
    "HOST": "",
    "PORT": "",
    "TEST": {},
}
CASES = [  # (date, days, plus, minus): across a month end, a leap day and a year end
    (dt.date(2024, 2, 27), 3, "2024-03-01", "2024-02-24"),
    (dt.date(2026, 12, 30), 5, "2027-01-04", "2026-12-25"),
    (dt.date(2026, 3, 1), 0, "2026-03-01", "2026-03-01"),
]


def _evaluate(conn, expression) -> str:
    query = Query(Visit)
    sql, params = query.get_compiler(connection=conn).compile(expression.resolve_expression(query))
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return str(cursor.fetchone()[0])


@pytest.mark.parametrize(("day", "days", "plus", "minus"), CASES)
def test_plus_and_minus_days_on_sqlite(day, days, plus, minus, django_db_blocker):
    sqlite = DatabaseWrapper(SQLITE, alias="sqlite_demo")
    with django_db_blocker.unblock():
        date = Value(day, output_field=DateField())
        assert _evaluate(sqlite, PlusDays(date, Value(days))) == plus
        assert _evaluate(sqlite, MinusDays(date, Value(days))) == minus
        sqlite.close()


@pytest.mark.django_db
@pytest.mark.parametrize(("day", "days", "plus", "minus"), CASES)
def test_plus_and_minus_days_on_postgresql(day, days, plus, minus):
    date = Value(day, output_field=DateField())
    assert _evaluate(connection, PlusDays(date, Value(days))) == plus
    assert _evaluate(connection, MinusDays(date, Value(days))) == minus
