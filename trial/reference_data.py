"""Reference data loaded by migrations (protocol, CTCAE, ...) with idempotent loaders.

Transactional tests flush every table, migration-loaded rows included; `ensure_loaded()` puts them back.
Apps register `(is_loaded, load)` pairs in REFERENCE_LOADERS from their AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable


def _protocol_loaded() -> bool:
    from trial.models import ProtocolVersion

    return ProtocolVersion.objects.filter(is_current=True).exists()


def _load_protocol() -> None:
    from trial.protocol_loader import load_protocol

    load_protocol()


REFERENCE_LOADERS: list[tuple[Callable[[], bool], Callable[[], None]]] = [(_protocol_loaded, _load_protocol)]


def ensure_loaded() -> None:
    for is_loaded, load in REFERENCE_LOADERS:
        if not is_loaded():
            load()
