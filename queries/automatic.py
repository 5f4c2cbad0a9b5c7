"""The rule engine: raise, keep or close automatic queries, from the write gate and from a full sweep.

Idempotent per (rule, record, field): a live automatic query is never duplicated (a partial unique
constraint backs this under concurrency), and a query a monitor closed while the rule still fails is not
raised again. When a later audited write makes the rule pass, the live query is closed with a note.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import IntegrityError, models, transaction

from queries import services
from queries.models import LIVE_STATUSES, Query, QueryOrigin
from queries.rules import RULES, Rule, rules_for
from queries.targets import Target, participant_of, queryable_resources
from trial.audit import AuditContext
from trial.models import AuditAction, AuditSource


def system_ctx(ctx: AuditContext | None = None) -> AuditContext:
    return AuditContext(user=None, source=AuditSource.SYSTEM, request_id=getattr(ctx, "request_id", "") or "")


def _key(rule: Rule, record: models.Model) -> dict[str, Any]:
    return {
        "origin": QueryOrigin.AUTOMATIC,
        "rule_code": rule.code,
        "resource": rule.resource,
        "object_id": record.pk,
        "field": rule.field,
    }


def evaluate(rule: Rule, record: models.Model, *, ctx: AuditContext, fresh: bool = False) -> str:
    """Apply one rule to one record: 'raised', 'closed', 'open' (already raised), 'kept' (closed by a person
    while still failing) or 'ok'. `fresh`: the record was just created, so no query can exist yet."""
    resource = queryable_resources().get(rule.resource)
    if resource is None:
        return "ok"
    text = rule.check(record)
    if not text and fresh:
        return "ok"
    key = _key(rule, record)
    live = Query.objects.filter(**key, status__in=LIVE_STATUSES).first()
    if text:
        if live is not None:
            return "open"
        latest = Query.objects.filter(**key).order_by("-id").first()
        if latest is not None and not latest.closed_automatically:
            return "kept"
        target = Target(resource, record, rule.field, participant_of(record))
        try:
            with transaction.atomic():
                services.raise_automatic(target, ctx=system_ctx(ctx), rule_code=rule.code, text=text)
        except IntegrityError:  # raised at the same moment by another write
            return "open"
        return "raised"
    if live is None:
        return "ok"
    services.close_automatic(
        live,
        ctx=system_ctx(ctx),
        text=f"Closed automatically: the value was corrected and the check '{rule.label}' passes.",
    )
    return "closed"


def _relevant(rule: Rule, label: str, action: str, changes: dict[str, list[Any]]) -> bool:
    if label == rule.triggers[0] or action != AuditAction.UPDATE:
        return True
    return bool(rule.watch & set(changes))


def on_write(
    instance: models.Model, *, action: str, changes: dict[str, list[Any]], ctx: Any, reason: str = ""
) -> None:
    """Write-gate listener: re-check the rules this record's write can affect, in the same transaction."""
    label = f"{instance._meta.app_label}.{instance._meta.model_name}"
    for rule in rules_for(label):
        if not _relevant(rule, label, action, changes):
            continue
        for target in rule.targets(instance):
            fresh = action == AuditAction.CREATE and target is instance
            evaluate(rule, target, ctx=ctx, fresh=fresh)


def sweep(rules: tuple[Rule, ...] = RULES) -> dict[str, Any]:
    """Check every record of every rule (and every live automatic query); safe to run any number of times."""
    totals: Counter[str] = Counter()
    per_rule: dict[str, dict[str, int]] = {}
    ctx = system_ctx()
    for rule in rules:
        counts: Counter[str] = Counter()
        seen: set[int] = set()
        resource = queryable_resources().get(rule.resource)
        if resource is None:
            continue
        for record in rule.sweep().iterator(chunk_size=500):
            seen.add(record.pk)
            with transaction.atomic():
                counts[evaluate(rule, record, ctx=ctx)] += 1
        stale = (
            Query.objects.filter(origin=QueryOrigin.AUTOMATIC, rule_code=rule.code, status__in=LIVE_STATUSES)
            .exclude(object_id__in=seen)
            .values_list("object_id", flat=True)
        )
        for object_id in list(stale):
            record = resource.model.objects.filter(pk=object_id).first()
            if record is not None:
                with transaction.atomic():
                    counts[evaluate(rule, record, ctx=ctx)] += 1
        per_rule[rule.code] = dict(sorted(counts.items()))
        totals.update(counts)
    return {
        "checked": sum(totals.values()),
        "raised": totals["raised"],
        "closed": totals["closed"],
        "already_open": totals["open"],
        "closed_by_monitor": totals["kept"],
        "rules": per_rule,
    }
