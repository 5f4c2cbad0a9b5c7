"""Optimistic locking of clinical records: every audited change raises `version`; a stale edit is refused.

A form or API client names the version it read (`expected_version`). The service locks the row
(`lock_current`) inside its transaction and refuses the edit with `VersionConflict` when the row has moved
on; the conflict says what changed since, by whom and when, read from the audit trail.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from trial.models import AuditEntry

MAX_SHOWN_VALUE = 60


def entries_since(instance: models.Model, version: int) -> list[AuditEntry]:
    """Audit entries of this record that raised its version above `version`, oldest first."""
    entries = AuditEntry.objects.filter(
        app_label=instance._meta.app_label, model=instance._meta.model_name, object_id=str(instance.pk)
    ).order_by("id")
    since = []
    for entry in entries:
        step = (entry.changes or {}).get("version")
        if isinstance(step, list) and len(step) == 2 and isinstance(step[1], int) and step[1] > version:
            since.append(entry)
    return since


def _field(instance: models.Model, attname: str) -> models.Field | None:
    for field in instance._meta.concrete_fields:
        if attname in (field.attname, field.name):
            return field
    return None


def _shown(field: models.Field | None, value: Any) -> str:
    """A value as a user reads it: the choice label where the field has choices, shortened."""
    if field is not None and field.choices and not isinstance(value, (list, dict)):
        value = dict(field.flatchoices).get(value, value)
    text = "—" if value in (None, "") else str(value)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 1] + "…"


def describe_entry(instance: models.Model, entry: AuditEntry) -> str:
    """'Verbatim term: — → fatigue (by Ann Smith (ann) at 2026-01-02 10:00:00 UTC)'."""
    parts = []
    for name, pair in (entry.changes or {}).items():
        if name == "version" or not (isinstance(pair, list) and len(pair) == 2):
            continue
        field = _field(instance, name)
        label = str(field.verbose_name) if field is not None else name
        parts.append(f"{label[:1].upper()}{label[1:]}: {_shown(field, pair[0])} → {_shown(field, pair[1])}")
    what = "; ".join(parts) or entry.get_action_display().lower()
    return f"{what} (by {entry.user_display} at {entry.at:%Y-%m-%d %H:%M:%S} UTC)"


def changed_fields(entries: list[AuditEntry]) -> list[str]:
    """Field names changed by these entries (in order, without duplicates, without `version`)."""
    names: list[str] = []
    for entry in entries:
        for name in entry.changes or {}:
            if name != "version" and name not in names:
                names.append(name)
    return names


class VersionConflict(ValidationError):
    """The record changed since the user read it; nothing was written.

    A ValidationError, so a page that does not know about versions still shows it as a form error.
    """

    def __init__(self, instance: models.Model, expected: int, current: int) -> None:
        self.expected_version = expected
        self.current_version = current
        self.entries = entries_since(instance, expected)
        self.fields_changed = changed_fields(self.entries)
        self.message_text = conflict_message(instance, expected, current, self.entries)
        super().__init__({NON_FIELD_ERRORS: [self.message_text]})

    def as_dict(self) -> dict[str, Any]:
        """What the API tells the client (JSON-safe)."""
        return {
            "detail": self.message_text,
            "expected_version": self.expected_version,
            "current_version": self.current_version,
            "changed_fields": self.fields_changed,
            "changes": [
                {
                    "version": entry.changes["version"][1],
                    "action": entry.action,
                    "by": entry.user_display,
                    "at": entry.at.isoformat(),
                    "fields": {k: v for k, v in entry.changes.items() if k != "version"},
                    "reason": entry.reason,
                }
                for entry in self.entries
            ],
        }


def conflict_message(instance: models.Model, expected: int, current: int, entries: list[AuditEntry]) -> str:
    what = " | ".join(describe_entry(instance, e) for e in entries) or "changed by another user"
    return (
        f"This {instance._meta.verbose_name} ({instance}) was changed after you opened it (you had version {expected}, "
        f"it is now version {current}): {what}. Nothing was saved; your input is kept below: "
        "check it against the current record and save again."
    )


def check_version(instance: models.Model, expected_version: int | None) -> None:
    """Refuse when the caller read another version than the row holds (None: no check)."""
    if expected_version is None:
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"version": "The version must be a whole number."}) from exc
    if expected != instance.version:
        raise VersionConflict(instance, expected, instance.version)


def lock_current(instance: models.Model, *, expected_version: int | None = None) -> models.Model:
    """Lock the row (SELECT ... FOR UPDATE), reload the instance from it and check the version.

    Call inside the service's transaction, before any rule is checked against the record.
    """
    manager = type(instance)._base_manager
    instance.refresh_from_db(from_queryset=manager.select_for_update())
    check_version(instance, expected_version)
    return instance
