"""Small SQL expressions that PostgreSQL and the SQLite demo write differently."""

from __future__ import annotations

from typing import Any

from django.db.models import DateField, Func


class PlusDays(Func):
    """A date plus a whole number of days, as a date: `date + n` on PostgreSQL, `date(d, '+n days')` on SQLite
    (where `date + n` is arithmetic on text and comes back as a number)."""

    arity = 2
    output_field = DateField()
    template = "(%(expressions)s)"
    arg_joiner = " + "
    sqlite_sign = "+"

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, tuple]:
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        days_sql, days_params = compiler.compile(self.source_expressions[1])
        sql = f"date({date_sql}, '{self.sqlite_sign}' || {days_sql} || ' days')"
        return sql, (*date_params, *days_params)


class MinusDays(PlusDays):
    """A date minus a whole number of days, as a date."""

    arg_joiner = " - "
    sqlite_sign = "-"
