"""ODM Value strings from stored values, and item values of a record rebuilt from its audit history."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.dateparse import parse_datetime

from exports.odm_meta import Form, Item


def odm_value(value: Any, item: Item) -> str:
    """Stored (or audit-serialised) value -> ODM Value string; '' when empty."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if item.data_type == "datetime" and isinstance(value, str):
        value = parse_datetime(value) or value
    if isinstance(value, dt.datetime):
        text = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return text + (f".{value.microsecond:06d}" if value.microsecond else "") + "+00:00"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if item.data_type == "double":
        return repr(float(value))
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def row_values(form: Form, row: dict[str, Any]) -> dict[str, str]:
    """Item OID -> Value of a `.values()` row (empty values left out)."""
    out = {}
    for item in form.items:
        text = odm_value(row.get(item.key), item)
        if text != "":
            out[item.oid] = text
    return out


class Resolver:
    """Values reached through related tables, looked up by primary key (cached: reference rows repeat)."""

    WINDOW = 2000
    MAX_CACHED = 200_000

    def __init__(self) -> None:
        self.cache: dict[tuple[str, Any, str], Any] = {}

    def follow(self, model: type[models.Model], state: dict[str, Any], pk: Any, path: str) -> Any:
        """Value of `path` for the record whose direct field values are `state` (primary key `pk`)."""
        if path in ("id", "pk"):
            return pk
        head, _, rest = path.partition("__")
        field = model._meta.get_field(head)  # a name or an attname (visit_id)
        if not rest:
            return state.get(field.attname)
        if not field.is_relation:
            return None
        fk = state.get(field.attname)
        if fk is None:
            return None
        return self.lookup(field.related_model, fk, rest)

    def lookup(self, model: type[models.Model], pk: Any, path: str) -> Any:
        """Value of `path` on the row `pk` of `model`."""
        key = (model._meta.label, pk, path)
        if key not in self.cache:
            self._load(model, pk, path)
        return self.cache.get(key)

    def _load(self, model: type[models.Model], fk: Any, rest: str) -> None:
        """One query for a window of primary keys from `fk` on (ids of related rows cluster)."""
        if len(self.cache) > self.MAX_CACHED:
            self.cache.clear()
        label = model._meta.label
        window = {"pk__gte": fk, "pk__lt": fk + self.WINDOW} if isinstance(fk, int) else {"pk": fk}
        qs = model._default_manager.filter(**window)
        for pk, value in qs.values_list("pk", rest):
            self.cache[(label, pk, rest)] = value
        self.cache.setdefault((label, fk, rest), None)

    def values(self, form: Form, state: dict[str, Any], pk: Any) -> dict[str, str]:
        """Item OID -> Value rebuilt from the audit state; expression items (not stored) are left out."""
        out = {}
        for item in form.items:
            if not item.path:
                continue
            text = odm_value(self.follow(form.resource.model, state, pk, item.path), item)
            if text != "":
                out[item.oid] = text
        return out

    def visit_id(self, form: Form, state: dict[str, Any], pk: Any) -> Any:
        return self.follow(form.resource.model, state, pk, form.visit_path) if form.visit_path else None

    def participant_id(self, form: Form, state: dict[str, Any], pk: Any) -> Any:
        """The record's participant; when its audit entries do not carry the link at all (a query's or an SDV
        mark's entries name what changed, not their participant), the row's own link, which never changes."""
        path = form.participant_fk
        model = form.resource.model
        if path not in ("id", "pk") and model._meta.get_field(path.partition("__")[0]).attname not in state:
            return self.lookup(model, pk, path)
        return self.follow(model, state, pk, path)
