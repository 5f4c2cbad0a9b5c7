"""Canonical content and SHA-256 of a set of signed AE versions (no Django imports)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Fields that change without the AE's clinical content changing; never part of what is signed.
UNSIGNED_FIELDS = frozenset({"created_at", "updated_at", "voided_at", "void_reason"})


def canonical_content(records: list[dict[str, Any]]) -> str:
    """One JSON text for a list of AE snapshots: sorted by id, sorted keys, no whitespace."""
    cleaned = [{k: v for k, v in r.items() if k not in UNSIGNED_FIELDS} for r in records]
    cleaned.sort(key=lambda r: r["id"])
    return json.dumps(cleaned, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(records: list[dict[str, Any]]) -> str:
    return hashlib.sha256(canonical_content(records).encode("utf-8")).hexdigest()
