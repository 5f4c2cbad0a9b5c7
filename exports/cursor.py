"""Change-feed cursors: an opaque token for the position (txid, audit id). Pure, no Django."""

from __future__ import annotations

import base64
from dataclasses import dataclass


class CursorError(ValueError):
    """The `since` cursor cannot be read."""


@dataclass(frozen=True, order=True)
class Position:
    txid: int
    entry_id: int

    def encode(self) -> str:
        raw = f"v1:{self.txid}:{self.entry_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


START = Position(0, 0)


def decode(token: str | None) -> Position:
    """Read a cursor; empty or "0" means the beginning of the audit trail."""
    if token is None or token.strip() in ("", "0"):
        return START
    text = token.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        version, txid, entry_id = raw.split(":")
        if version != "v1":
            raise ValueError(version)
        position = Position(int(txid), int(entry_id))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CursorError(
            f"Invalid cursor {token!r}: use the next_cursor value of a previous response."
        ) from exc
    if position.txid < 0 or position.entry_id < 0:
        raise CursorError(f"Invalid cursor {token!r}: negative position.")
    return position
