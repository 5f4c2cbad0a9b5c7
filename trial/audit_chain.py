"""Hash chain over the audit trail: each entry stores SHA-256(canonical content + previous entry's hash).

`append` only inserts the entry, unsealed (`seq` NULL, empty hashes), in the caller's transaction and takes
no lock there, so audited transactions never queue on the chain head. After the caller commits,
`seal_pending` (registered once per transaction with `on_commit`; also run every minute by Celery beat and
by `audit_verify`) takes a transaction-level advisory lock in its own short transaction, reads the head and
gives the committed unsealed entries, in id order, their `seq`, `prev_hash` and `entry_hash`. Only one
sealer runs at a time, so two entries can never claim the same predecessor; `seq` is unique as a second
guard. The hashed content is fixed at insert except `seq` and `prev_hash`. `verify` walks the sealed chain
in `seq` order in keyset-paginated chunks and reports the first bad entry. The hashing functions use plain
values only, so migrations can call them on historical models.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

GENESIS = "0" * 64
# Arbitrary constant naming the audit chain head among PostgreSQL advisory locks.
CHAIN_LOCK_KEY = 0x0CD8_A0D1
HASHED_FIELDS = (
    "seq",
    "prev_hash",
    "at",
    "user_id",
    "user_display",
    "action",
    "app_label",
    "model",
    "object_id",
    "object_repr",
    "participant_id",
    "site_id",
    "changes",
    "reason",
    "source",
    "ip_address",
    "request_id",
    "txid",
)


def _canonical_json(value: Any) -> Any:
    """Values as the JSON column returns them: integral floats as ints (jsonb drops the '.0')."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical_json(v) for v in value]
    return value


def _canonical_at(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _canonical_ip(value: str | None) -> str | None:
    return ipaddress.ip_address(value).compressed if value else None


def canonical_bytes(entry: Any) -> bytes:
    """The hashed content of an entry (model instance or historical model), canonically serialised."""
    data = {name: getattr(entry, name) for name in HASHED_FIELDS}
    data["at"] = _canonical_at(data["at"])
    data["ip_address"] = _canonical_ip(data["ip_address"])
    data["changes"] = _canonical_json(data["changes"])
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_digest(entry: Any) -> str:
    return hashlib.sha256(canonical_bytes(entry)).hexdigest()


def _current_txid() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
        return cursor.fetchone()[0]


def append(entry: Any) -> Any:
    """Insert an unsaved AuditEntry unsealed, in the caller's transaction; it is sealed after commit."""
    entry.seq, entry.prev_hash, entry.entry_hash = None, "", ""
    entry.at = timezone.now()  # write time; along the chain (commit order) it may step back a little
    entry.txid = _current_txid()  # the insert trigger stamps the same value on PostgreSQL
    entry.save(force_insert=True)
    _seal_on_commit()
    return entry


def _seal_after_commit() -> None:
    seal_pending()


def _seal_on_commit() -> None:
    """Register one seal per transaction (a callback dropped with a rolled-back savepoint is registered again)."""
    if connection.in_atomic_block and any(
        func is _seal_after_commit for _sids, func, *_rest in connection.run_on_commit
    ):
        return
    transaction.on_commit(_seal_after_commit, robust=True)


def pending_count(model: type | None = None) -> int:
    """Committed entries not yet sealed (as seen by this connection)."""
    return _model(model).objects.filter(seq__isnull=True).count()


def _model(model: type | None) -> type:
    if model is None:
        from trial.models import AuditEntry

        return AuditEntry
    return model


def seal_pending(model: type | None = None, batch: int = 1000) -> int:
    """Seal the committed unsealed entries in id order, `batch` per short transaction; returns how many."""
    model = _model(model)
    total = 0
    while True:
        sealed = _seal_batch(model, batch)
        total += sealed
        if sealed < batch:
            return total


def _seal_batch(model: type, batch: int) -> int:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
        # Read after the lock is held: each statement of a READ COMMITTED transaction sees the last sealer's commit.
        head = (
            model.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", "entry_hash").first()
        )
        seq, prev = head if head else (0, GENESIS)
        pending = list(model.objects.filter(seq__isnull=True).order_by("id")[:batch])
        for entry in pending:
            seq += 1
            entry.seq, entry.prev_hash = seq, prev
            entry.entry_hash = entry_digest(entry)
            updated = model.objects.filter(pk=entry.pk, seq__isnull=True).update(
                seq=seq, prev_hash=prev, entry_hash=entry.entry_hash
            )
            if updated != 1:  # cannot happen under the lock; refuse rather than leave a gap
                raise RuntimeError(f"audit entry id={entry.pk} was sealed by someone else")
            prev = entry.entry_hash
        return len(pending)


def chain_historical(model: type) -> int:
    """Give rows written before the chain existed their seq and hashes, in id order (used by a migration)."""
    prev, seq = GENESIS, 0
    for entry in model.objects.filter(seq__isnull=True).order_by("id").iterator(chunk_size=2000):
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.entry_hash = entry_digest(entry)
        model.objects.filter(pk=entry.pk).update(seq=seq, prev_hash=prev, entry_hash=entry.entry_hash)
        prev = entry.entry_hash
    return seq


@dataclass(frozen=True)
class ChainFault:
    entry_id: int
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit entry id={self.entry_id} (seq {self.seq}): {self.problem}"


def _rows(model: type, chunk: int) -> Iterator[Any]:
    last = 0
    while True:
        page = list(model.objects.filter(seq__gt=last).order_by("seq")[:chunk])
        if not page:
            return
        yield from page
        last = page[-1].seq


def verify(model: type, chunk: int = 5000) -> tuple[int, ChainFault | None]:
    """Walk the chain; returns (entries checked, first fault or None)."""
    expected_seq, prev, checked = 1, GENESIS, 0
    for entry in _rows(model, chunk):
        fault = _check(entry, expected_seq, prev)
        if fault:
            return checked, fault
        checked += 1
        expected_seq, prev = entry.seq + 1, entry.entry_hash
    return checked, None


def _check(entry: Any, expected_seq: int, prev: str) -> ChainFault | None:
    if entry.seq != expected_seq:
        missing = f"seq {expected_seq}" + (f"-{entry.seq - 1}" if entry.seq - 1 > expected_seq else "")
        return ChainFault(entry.pk, entry.seq, f"entry missing before it ({missing} not found)")
    if entry.prev_hash != prev:
        return ChainFault(entry.pk, entry.seq, "link broken (previous hash does not match the entry before)")
    if entry_digest(entry) != entry.entry_hash:
        return ChainFault(entry.pk, entry.seq, "content changed (stored hash does not match its content)")
    return None
