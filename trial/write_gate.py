"""The one gate every audited write passes: guards may refuse it, listeners react to it.

Apps register here in their `AppConfig.ready()` so that `trial` never imports them: a lock check
(monitoring) is a guard, clearing source-data verification or closing an automatic query on a
corrected value is a listener. Guards run inside the write's transaction after the row is locked,
so a refusal leaves nothing stored; listeners run in the same transaction after the audit entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models


class RecordLocked(ValidationError):
    """A guard's refusal because the data is frozen or locked: a form error on pages, HTTP 423 on the API."""

    def __init__(self, message: str) -> None:
        self.message_text = message
        super().__init__({NON_FIELD_ERRORS: [message]})


class WriteGuard(Protocol):
    def __call__(self, instance: models.Model, *, action: str, changes: dict[str, list[Any]]) -> None: ...


class WriteListener(Protocol):
    def __call__(
        self, instance: models.Model, *, action: str, changes: dict[str, list[Any]], ctx: Any, reason: str
    ) -> None: ...


class RefusalRecorder(Protocol):
    def __call__(self, instance: models.Model, *, ctx: Any, what: str, message: str) -> None: ...


_guards: list[WriteGuard] = []
_listeners: list[WriteListener] = []
_recorders: list[RefusalRecorder] = []
logger = logging.getLogger("cd8pet.write_gate")


def register_guard(guard: WriteGuard) -> WriteGuard:
    """Add a check run before every audited create, update, void and restore; it raises to refuse."""
    if guard not in _guards:
        _guards.append(guard)
    return guard


def register_listener(listener: WriteListener) -> WriteListener:
    """Add a callback run after every audited write, in the same transaction."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def check_write(instance: models.Model, *, action: str, changes: dict[str, list[Any]]) -> None:
    for guard in _guards:
        guard(instance, action=action, changes=changes)


def notify_write(
    instance: models.Model, *, action: str, changes: dict[str, list[Any]], ctx: Any, reason: str = ""
) -> None:
    for listener in _listeners:
        listener(instance, action=action, changes=changes, ctx=ctx, reason=reason)


def register_refusal_recorder(recorder: RefusalRecorder) -> RefusalRecorder:
    """Add a callback that stores a refused write where people see it (monitoring: a RefusedWrite row)."""
    if recorder not in _recorders:
        _recorders.append(recorder)
    return recorder


def report_refusal(instance: models.Model, *, ctx: Any, what: str, refusal: RecordLocked) -> str:
    """Record that a write nobody stands behind to see the error (a worker's recompute) was refused by a guard,
    so the refusal is visible rather than a silently missing result; returns the message."""
    message = refusal.message_text
    logger.warning("write refused: %s of %s %s: %s", what, instance._meta.label_lower, instance.pk, message)
    for recorder in _recorders:
        recorder(instance, ctx=ctx, what=what, message=message)
    return message


def refused_before_work(instance: models.Model, *, ctx: Any, what: str) -> str | None:
    """A worker's check before it computes into `instance`: the recorded refusal message, None when allowed."""
    try:
        check_write(instance, action="update", changes={})
    except RecordLocked as exc:
        return report_refusal(instance, ctx=ctx, what=what, refusal=exc)
    return None


def registered() -> tuple[list[Callable[..., None]], list[Callable[..., None]]]:
    """The guards and listeners in order (for tests and diagnostics)."""
    return list(_guards), list(_listeners)
