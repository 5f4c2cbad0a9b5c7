"""CSV body of a resource query, shared by the read API (`?format=csv`) and the bulk zip.

Sits below both `exports.api` and `exports.bulk` so that the bulk worker never imports the API views.
"""

from __future__ import annotations

from django.db import connection

from exports import copy_csv, selectors
from exports.csv_stream import stream_csv
from exports.resources.base import Resource


def csv_body(resource: Resource, qs):
    """COPY-based stream on PostgreSQL; row-by-row Python CSV elsewhere (SQLite demo)."""
    if connection.vendor == "postgresql":
        header = b"".join(stream_csv(resource.csv_header(), []))
        return copy_csv.stream(resource, qs, header)
    return stream_csv(resource.csv_header(), selectors.csv_rows(resource, qs))
