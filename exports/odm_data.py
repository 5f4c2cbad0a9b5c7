"""ODM exports from the database: metadata from the export resources, Snapshot from current rows,
Transactional from the audit trail (one AuditRecord per change)."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from exports import odm, selectors
from exports.changes import _entries, horizon
from exports.cursor import Position
from exports.resources import load_all
from exports.resources.base import Resource, field_spec
from trial import access
from trial.models import AuditAction, AuditEntry, Participant, Site

PARTIAL_DATES = {("adverse-events", "onset_date"), ("adverse-events", "end_date")}
TX_TYPES = {
    AuditAction.CREATE: "Insert",
    AuditAction.UPDATE: "Update",
    AuditAction.VOID: "Remove",
    AuditAction.RESTORE: "Insert",
}


def _odm_type(resource: Resource, col) -> tuple[str, tuple[str, ...], int | None]:
    if (resource.name, col.name) in PARTIAL_DATES:
        return "partialDate", (), None
    cls, kwargs = field_spec(resource.model, col)
    schema = (getattr(cls, "_spectacular_annotation", None) or {}).get("field")
    codes: tuple[str, ...] = ()
    if isinstance(schema, dict) and "allOf" in schema:
        codes = tuple(str(v) for v in schema["allOf"][0]["enum"] if v != "")
    if issubclass(cls, serializers.BooleanField):
        return "boolean", codes, None
    if issubclass(cls, serializers.IntegerField):
        return "integer", codes, None
    if issubclass(cls, serializers.DecimalField):
        return "float", codes, kwargs.get("decimal_places")
    if issubclass(cls, serializers.FloatField):
        return "float", codes, None
    if issubclass(cls, serializers.DateTimeField):
        return "datetime", codes, None
    if issubclass(cls, serializers.DateField):
        return "date", codes, None
    return "text", codes, None


def subject_resources() -> list[Resource]:
    return [r for name, r in load_all().items() if r.participant_field and name != "status-changes"]


def forms() -> list[odm.FormSpec]:
    out = []
    for resource in subject_resources():
        items = []
        for col in resource.columns:
            data_type, codes, digits = _odm_type(resource, col)
            items.append(
                odm.ItemSpec(col.name, data_type, codes, significant_digits=digits, description=col.help)
            )
        out.append(odm.FormSpec(resource.name, resource.description or resource.name, tuple(items)))
    return out


def odm_value(value: Any, data_type: str) -> str:
    """Stored value -> ODM Value string ('' when empty)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if data_type == "datetime" and isinstance(value, str):
        parsed = parse_datetime(value)
        return odm_value(parsed, data_type) if parsed else value
    return str(value)


def typed(value: str | None, data_type: str) -> Any:
    """ODM Value string -> Python value (the inverse of odm_value, used to check round trips)."""
    if value is None:
        return None
    converters = {
        "integer": int,
        "float": Decimal,
        "boolean": lambda v: v in ("true", "1"),
        "date": parse_date,
        "datetime": parse_datetime,
    }
    return converters.get(data_type, str)(value)


def _subject_of(resource: Resource, row: dict) -> str:
    return row["study_id"] if resource.name == "participants" else row["participant__study_id"]


def records(user: Any) -> Iterator[odm.Record]:
    specs = {f.resource: f for f in forms()}
    for resource in subject_resources():
        spec = specs[resource.name]
        types = {i.name: i.data_type for i in spec.items}
        qs = selectors.rows(resource, selectors.base_queryset(resource, user))
        for row in qs.iterator(chunk_size=2000):
            values = {c.name: odm_value(row[c.key], types[c.name]) for c in resource.columns}
            yield odm.Record(_subject_of(resource, row), resource.name, str(row["id"]), values)


def admin(user: Any, entries: QuerySet | None = None) -> odm.Admin:
    result = odm.Admin()
    sites = access.sites_visible_to(user)
    result.locations = {f"LOC.{s.code}": s.name for s in sites}
    result.locations.setdefault("LOC.SPONSOR", "Sponsor / central data management")
    participants = access.scope_to_user(Participant.objects.all(), user, site_field="site")
    result.subject_location = {
        study_id: f"LOC.{code}" for study_id, code in participants.values_list("study_id", "site__code")
    }
    result.users["U.SYSTEM"] = "system"
    if entries is not None:
        for name, display in entries.values_list("user__username", "user_display").distinct():
            result.users[f"U.{name}" if name else "U.SYSTEM"] = display or "system"
    return result


def snapshot_xml(user: Any, created: dt.datetime | None = None) -> bytes:
    created = created or timezone.now()
    return odm.snapshot(
        forms(), records(user), admin(user), created, f"CD8PET.SNAPSHOT.{created:%Y%m%dT%H%M%S}"
    )


def change_entries(user: Any, after: Position | None = None) -> QuerySet:
    """Audit entries of exported records in change order; after a cursor: only up to the horizon (final)."""
    keys = [r.audit_key for r in subject_resources()]
    qs = _entries().filter(participant_id__isnull=False)
    if after is not None:
        qs = qs.filter(tx__lt=horizon()).filter(
            Q(tx__gt=after.txid) | Q(tx=after.txid, id__gt=after.entry_id)
        )
    query = None
    for app_label, model in keys:
        clause = Q(app_label=app_label, model=model)
        query = clause if query is None else query | clause
    qs = qs.filter(query)
    ids = access.visible_site_ids(user)
    if ids is not None:
        qs = qs.filter(site_id__in=ids)
    return qs.select_related("user").order_by("tx", "id")


def transactions(user: Any, entries: QuerySet) -> Iterator[odm.Transaction]:
    specs = {f.resource: f for f in forms()}
    by_key = {r.audit_key: r for r in subject_resources()}
    subjects = dict(Participant.objects.values_list("id", "study_id"))
    site_codes = dict(Site.objects.values_list("id", "code"))
    for entry in entries.iterator(chunk_size=2000):
        resource = by_key[(entry.app_label, entry.model)]
        tx_type = TX_TYPES.get(entry.action, "Update")
        spec = specs[resource.name]
        types = {i.name: i.data_type for i in spec.items}
        values = {"id": entry.object_id}
        for col in resource.columns:
            attname = col.path if col.path and "__" not in col.path else col.name
            if attname in entry.changes and col.name != "id":
                values[col.name] = odm_value(entry.changes[attname][1], types[col.name])
        record = odm.Record(
            subjects.get(entry.participant_id, str(entry.participant_id)),
            resource.name,
            entry.object_id,
            values,
        )
        user_oid = f"U.{entry.user.username}" if entry.user_id else "U.SYSTEM"
        location = f"LOC.{site_codes[entry.site_id]}" if entry.site_id in site_codes else "LOC.SPONSOR"
        audit = odm.AuditInfo(
            user_oid,
            location,
            entry.at,
            entry.reason,
            f"audit:{entry.pk};source:{entry.source}"
            + (f";request:{entry.request_id}" if entry.request_id else ""),
        )
        yield odm.Transaction(record, tx_type, audit)


def transactional_xml(user: Any, created: dt.datetime | None = None, after: Position | None = None) -> bytes:
    created = created or timezone.now()
    entries = change_entries(user, after)
    return odm.transactional(
        forms(),
        transactions(user, entries),
        admin(user, entries),
        created,
        f"CD8PET.TRANSACTIONS.{created:%Y%m%dT%H%M%S}",
    )


def write_snapshot_into(zf: zipfile.ZipFile, user: Any) -> list[str]:
    zf.writestr("odm/snapshot.xml", snapshot_xml(user))
    zf.writestr("odm/transactional.xml", transactional_xml(user))
    return ["odm/snapshot.xml", "odm/transactional.xml"]


def audit_entry_count(user: Any) -> int:
    return change_entries(user).count()


__all__ = ["AuditEntry", "forms", "snapshot_xml", "transactional_xml", "typed", "write_snapshot_into"]
