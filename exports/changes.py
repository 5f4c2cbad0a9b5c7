"""Incremental sync over the audit trail (see docs/EXPORTS.md).

Every audited write stores an AuditEntry with txid = txid_current() of its transaction. Entries are read in
(txid, id) order and only up to the *horizon*: the oldest transaction of this database that was still running
when the snapshot was taken. Every transaction below the horizon has finished, so no entry can later appear
behind a cursor: pulling repeatedly with the returned cursor never misses or repeats a change, whatever the
commit order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from exports.cursor import Position
from trial.models import AuditEntry, AuditLatest

HORIZON_SQL = """
WITH snap AS (SELECT pg_current_snapshot() AS s),
foreign_xids AS (
    SELECT backend_xid::text::bigint AS x32
    FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL
      AND datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT LEAST(
    pg_snapshot_xmax(s)::text::bigint,
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s) AS x
     WHERE (x::text::bigint % 4294967296) NOT IN (SELECT x32 FROM foreign_xids))
) FROM snap
"""


def horizon() -> int:
    """Smallest txid that may still commit audit entries of this database; entries below it are final.

    Transactions of other databases in the cluster (found in pg_stat_activity) do not hold the feed back;
    a transaction that cannot be attributed is treated as ours (conservative: delays, never misses).
    """
    if connection.vendor != "postgresql":
        return 1  # SQLite demo: one writer at a time, no txid (treated as 0); id order is commit order
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity is cached per transaction
        cursor.execute(HORIZON_SQL)
        return int(cursor.fetchone()[0])


def _entries() -> QuerySet:
    """Audit entries with `tx` = txid (0 where no trigger stamps it: the SQLite demo)."""
    if connection.vendor == "postgresql":
        return AuditEntry.objects.annotate(tx=F("txid"))
    return AuditEntry.objects.annotate(tx=Coalesce("txid", Value(0), output_field=BigIntegerField()))


@dataclass(frozen=True)
class Change:
    entry_id: int
    txid: int
    object_id: str
    action: str
    at: Any

    @property
    def position(self) -> Position:
        return Position(self.txid, self.entry_id)


def entries_after(
    *, app_label: str, model: str, after: Position, limit: int, site_ids: list[int] | None, upto: int
) -> list[Change]:
    """Latest entry per object after `after` and below the txid horizon `upto`, in (txid, id) order.

    On PostgreSQL this reads trial.AuditLatest (one row per object, kept by an insert trigger) through its
    (app_label, model, txid, entry_id) index: superseded entries are never scanned. An object whose latest
    entry is still above the horizon waits until it is below (its earlier entries are not sent meanwhile);
    its position is after every cursor handed out so far, so nothing is missed.
    """
    if connection.vendor == "postgresql":
        return _latest_after(
            app_label=app_label, model=model, after=after, limit=limit, site_ids=site_ids, upto=upto
        )
    base = _entries().filter(app_label=app_label, model=model, tx__lt=upto)
    later = base.filter(object_id=OuterRef("object_id")).filter(
        Q(tx__gt=OuterRef("tx")) | Q(tx=OuterRef("tx"), id__gt=OuterRef("id"))
    )
    qs: QuerySet = base.filter(Q(tx__gt=after.txid) | Q(tx=after.txid, id__gt=after.entry_id))
    if site_ids is not None:
        qs = qs.filter(site_id__in=site_ids)
    rows = (
        qs.filter(~Exists(later))
        .order_by("tx", "id")
        .values_list("id", "tx", "object_id", "action", "at")[:limit]
    )
    return [Change(*row) for row in rows]


def _latest_after(
    *, app_label: str, model: str, after: Position, limit: int, site_ids: list[int] | None, upto: int
) -> list[Change]:
    qs = AuditLatest.objects.filter(
        app_label=app_label, model=model, txid__gte=after.txid, txid__lt=upto
    ).filter(Q(txid__gt=after.txid) | Q(entry_id__gt=after.entry_id))
    if site_ids is not None:
        qs = qs.filter(site_id__in=site_ids)
    rows = qs.order_by("txid", "entry_id").values_list("entry_id", "txid", "object_id", "action", "at")[
        :limit
    ]
    return [Change(*row) for row in rows]


def current_position(upto: int) -> Position:
    """Cursor just below the horizon: where a full snapshot taken now hands over to the feed."""
    last = _entries().filter(tx__lt=upto).order_by("-tx", "-id").values_list("tx", "id").first()
    return Position(*last) if last else Position(max(upto - 1, 0), 0)
