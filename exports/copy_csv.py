"""Streamed CSV straight from PostgreSQL `COPY (SELECT ...) TO STDOUT` (the fast path of every CSV export).

The resource queryset (scoping, filters, joins, annotations) is compiled by the ORM and wrapped in a
SELECT that formats each column the way the JSON API does (booleans true/false, UTC date-times with a Z),
then copied out in CSV and yielded in ~64 KB blocks: no row is materialised in Python.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from django.db import connection, models
from django.db.models import QuerySet

from exports.resources.base import Resource, model_field_for
from trial.csv_safety import escape_sql

BLOCK = 64 * 1024


def _kind(resource: Resource, col) -> str:
    if col.expr is not None:
        return "plain"
    field = model_field_for(resource.model, col.path or col.name)
    if isinstance(field, models.BooleanField):
        return "bool"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.JSONField):
        return "json"
    if isinstance(field, models.FloatField):
        return "float"
    return "plain"


def _select(name: str, kind: str) -> str:
    if kind == "bool":
        return f"CASE WHEN {name} THEN 'true' WHEN NOT {name} THEN 'false' END"
    if kind == "datetime":
        return f"""to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    if kind == "float":  # PostgreSQL prints 48::float8 as '48', Python (the row writer) as '48.0'
        return f"CASE WHEN {name}::text ~ '^-?[0-9]+$' THEN {name}::text || '.0' ELSE {name}::text END"
    # Text that a spreadsheet would run as a formula gets a leading ' (numbers such as -1.5 stay as they are).
    return escape_sql(name)


def copy_sql(resource: Resource, qs: QuerySet) -> tuple[str, tuple]:
    """COPY statement (and its parameters) producing the resource's CSV rows ordered by id."""
    _paths, exprs = resource.value_args()
    inner = (qs.annotate(**exprs) if exprs else qs).order_by().values_list(*[c.key for c in resource.columns])
    sql, params = inner.query.sql_with_params()
    aliases = [f"c{i}" for i in range(len(resource.columns))]
    selects = ", ".join(_select(f"q.{a}", _kind(resource, c)) for a, c in zip(aliases, resource.columns))
    statement = (
        f"COPY (SELECT {selects} FROM ({sql}) AS q({', '.join(aliases)}) ORDER BY q.c0) "
        "TO STDOUT WITH (FORMAT csv)"
    )
    return statement, params


def stream(resource: Resource, qs: QuerySet, header: bytes) -> Iterator[bytes]:
    statement, params = copy_sql(resource, qs)
    yield header
    with connection.cursor() as cursor:
        bound = (
            psycopg.ClientCursor(connection.connection).mogrify(statement, params) if params else statement
        )
        with cursor.cursor.copy(bound) as copy:
            buffer = bytearray()
            for block in copy:
                buffer += block
                if len(buffer) >= BLOCK:
                    yield bytes(buffer)
                    buffer.clear()
            if buffer:
                yield bytes(buffer)
