"""Reads for exports: scoped, filtered querysets of resources as `.values()` rows, and change pages."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, QuerySet
from django.db.models.functions import Cast

from exports import changes, filters
from exports.cursor import Position
from exports.resources.base import Resource
from trial import access


def base_queryset(resource: Resource, user: Any) -> QuerySet:
    qs = resource.model.objects.all()
    if resource.base_filter:
        qs = qs.filter(**resource.base_filter)
    if resource.site_field:
        return access.scope_to_user(qs, user, site_field=resource.site_field)
    ids = access.visible_site_ids(user)
    return qs if ids is None else qs.filter(pk__in=ids)


def filter_params(resource: Resource) -> list[tuple[str, str]]:
    """(name, description) of every filter the resource accepts (also documented in OpenAPI)."""
    params = []
    if resource.participant_field:
        params.append(("participant", "Study id of the participant, e.g. NL01-001."))
    if resource.site_field or resource.name == "sites":
        params.append(("site", "Site code, e.g. NL01."))
    for name in resource.date_fields:
        params.append((f"{name}_from", f"{name} on or after this ISO 8601 date (or date-time)."))
        params.append((f"{name}_to", f"{name} on or before this ISO 8601 date (or date-time)."))
    params.append(("changed_since", "Records created or changed at or after this ISO 8601 date-time."))
    if resource.has_voided:
        params.append(
            ("include_voided", "1 to include voided records (default 1: voided rows carry voided=true).")
        )
    return params


def apply_filters(resource: Resource, qs: QuerySet, params: Any) -> QuerySet:
    """Filter by the query parameters, validated first (`exports.filters`: DRF ValidationError on bad input)."""
    values = filters.clean(resource, params)
    if resource.participant_field and values.get("participant"):
        qs = qs.filter(**{resource.participant_field: values["participant"]})
    if values.get("site"):
        site_path = "code" if resource.name == "sites" else f"{resource.site_field}__code"
        qs = qs.filter(**{site_path: values["site"]})
    for name in resource.date_fields:
        is_datetime = type(resource.model._meta.get_field(name)).__name__ == "DateTimeField"
        for suffix, lookup in (("_from", "gte"), ("_to", "lte")):
            when = values.get(name + suffix)
            if when is None:
                continue
            field = name
            if is_datetime and not isinstance(when, dt.datetime):
                field = f"{name}__date"
            elif not is_datetime and isinstance(when, dt.datetime):
                when = when.date()
            qs = qs.filter(**{f"{field}__{lookup}": when})
    if values.get("changed_since"):
        qs = _changed_since(resource, qs, values["changed_since"])
    if resource.has_voided and values.get("include_voided") == "0":
        qs = qs.filter(voided=False)
    return qs


def _changed_since(resource: Resource, qs: QuerySet, since: dt.datetime) -> QuerySet:
    """Rows changed at or after `since`: by updated_at, or by their audit entries (derived results)."""
    if resource.has_updated_at:
        return qs.filter(updated_at__gte=since)
    from trial.models import AuditEntry

    app_label, model = resource.audit_key
    changed = AuditEntry.objects.filter(
        app_label=app_label, model=model, at__gte=since, object_id__regex=r"^[0-9]+$"
    ).annotate(object_pk=Cast("object_id", BigIntegerField()))
    return qs.filter(pk__in=changed.values("object_pk"))


def rows(resource: Resource, qs: QuerySet) -> QuerySet:
    """`.values()` rows of the resource columns, ordered by id (stable)."""
    paths, exprs = resource.value_args()
    return qs.values(*paths, **exprs).order_by("id")


def csv_rows(resource: Resource, qs: QuerySet, chunk_size: int = 2000) -> Iterator[tuple]:
    paths, exprs = resource.value_args()
    order = [c.key for c in resource.columns]
    if exprs:
        qs = qs.annotate(**exprs)
    return qs.order_by("id").values_list(*order).iterator(chunk_size=chunk_size)


def attach_nested(resource: Resource, page: list[dict]) -> list[dict]:
    """Add nested child lists to a page of rows with one query per nested relation."""
    ids = [r["id"] for r in page]
    for nested in resource.nested:
        grouped: dict[int, list[dict]] = defaultdict(list)
        child_paths = [c.key for c in nested.columns]
        fk = f"{nested.parent_field}_id"
        children = nested.model.objects.filter(**{f"{nested.parent_field}__in": ids})
        for child in children.order_by(*nested.order_by).values(fk, *child_paths):
            grouped[child[fk]].append(child)
        for row in page:
            row[nested.name] = grouped.get(row["id"], [])
    return page


@dataclass
class ChangePage:
    items: list[dict]
    next_cursor: str
    has_more: bool
    horizon: int


def change_page(resource: Resource, user: Any, after: Position, limit: int) -> ChangePage:
    """Objects changed after `after` (current state or tombstone), each once at its latest change."""
    upto = changes.horizon()
    app_label, model = resource.audit_key
    entries = changes.entries_after(
        app_label=app_label,
        model=model,
        after=after,
        limit=limit + 1,
        # Records without a site field (sites) are scoped by the rows they show, not by the entries' site.
        site_ids=access.visible_site_ids(user) if resource.site_field else None,
        upto=upto,
    )
    has_more = len(entries) > limit
    entries = entries[:limit]
    ids = [int(e.object_id) for e in entries if e.object_id.isdigit()]
    current = {r["id"]: r for r in rows(resource, base_queryset(resource, user).filter(pk__in=ids))}
    attach_nested(resource, list(current.values()))
    items = []
    for e in entries:
        record = current.get(int(e.object_id)) if e.object_id.isdigit() else None
        if record is None and not resource.has_voided:
            continue
        voided = bool(record is None or record.get("voided", False))
        items.append(
            {
                "id": int(e.object_id),
                "voided": voided,
                "action": e.action,
                "changed_at": e.at,
                "cursor": e.position.encode(),
                "record": None if voided else record,
            }
        )
    next_position = entries[-1].position if entries else after
    return ChangePage(items=items, next_cursor=next_position.encode(), has_more=has_more, horizon=upto)


def is_data_manager(user: Any) -> bool:
    from trial.models import Role

    return bool(getattr(user, "is_superuser", False) or Role.DATA_MANAGER in access.all_roles(user))


def tokens_for(user: Any) -> QuerySet:
    """Data managers see every token; anyone else only their own."""
    from trial.models import ApiToken

    qs = ApiToken.objects.select_related("user", "created_by").order_by("id")
    return qs if is_data_manager(user) else qs.filter(user=user)


def export_jobs_for(user: Any) -> QuerySet:
    from exports.models import ExportJob

    qs = ExportJob.objects.select_related("requested_by").order_by("id")
    return qs if is_data_manager(user) else qs.filter(requested_by=user)
