"""Writes of queries: raise, answer (optionally correcting the value), close, reopen. Every step is audited.

Who may do what, at the record's site (trial.access roles):
- raise, close, reopen: monitor or data manager (the raiser's roles);
- answer: the site's people (coordinator, investigator, radiologist, pathologist); a correction also
  needs the write capability of the record (e.g. AEs: coordinator or investigator).
Transitions lock the query row and re-check its state, so two people acting at once cannot both win.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from queries import corrections
from queries.models import MessageKind, Query, QueryMessage, QueryOrigin, QueryStatus
from queries.targets import Target, capability_for, resolve
from trial import access
from trial.audit import AuditContext, serialise_value, write_entry
from trial.models import AuditAction, Role

RAISER_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER})
SITE_ROLES = frozenset({Role.SITE_COORDINATOR, Role.INVESTIGATOR, Role.RADIOLOGIST, Role.PATHOLOGIST})
MAX_TEXT = 4000
NO_VALUE = object()


class QueryStateError(ValidationError):
    """The query is not in a state that allows this step (HTTP 409 on the API)."""


def _display(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


def _text(text: Any, *, required: bool = True) -> str:
    text = str(text or "").strip()
    if required and not text:
        raise ValidationError({"text": "Write the question or answer."})
    if len(text) > MAX_TEXT:
        raise ValidationError({"text": f"At most {MAX_TEXT} characters."})
    return text


def may_raise(user: Any, site_id: int) -> bool:
    return bool(access.roles_at(user, site_id) & RAISER_ROLES) if user.is_authenticated else False


def may_answer(user: Any, site_id: int) -> bool:
    return bool(access.roles_at(user, site_id) & SITE_ROLES) if user.is_authenticated else False


def _visible(user: Any, site_id: int) -> bool:
    ids = access.visible_site_ids(user)
    return ids is None or site_id in ids


def _message(
    query: Query, ctx: AuditContext, kind: str, text: str, old: Any = None, new: Any = None
) -> QueryMessage:
    user = ctx.user if getattr(ctx.user, "is_authenticated", False) else None
    return QueryMessage.objects.create(
        query=query,
        author=user,
        author_display=_display(user),
        at=timezone.now(),
        kind=kind,
        text=text,
        old_value=old,
        new_value=new,
    )


def _audit(query: Query, ctx: AuditContext, action: str, changes: dict[str, list[Any]], reason: str) -> None:
    write_entry(query, ctx=ctx, action=action, changes=changes, reason=reason)


def _create(target: Target, *, ctx: AuditContext, text: str, origin: str, rule_code: str = "") -> Query:
    user = ctx.user if getattr(ctx.user, "is_authenticated", False) else None
    query = Query.objects.create(
        resource=target.resource.name,
        object_id=target.record.pk,
        field=target.field,
        participant=target.participant,
        site_id=target.site_id,
        text=text,
        status=QueryStatus.OPEN,
        origin=origin,
        rule_code=rule_code,
        raised_by=user,
        raised_by_display=_display(user),
        raised_at=timezone.now(),
    )
    _message(query, ctx, MessageKind.RAISED if origin == QueryOrigin.MANUAL else MessageKind.AUTOMATIC, text)
    changes = {
        "resource": [None, query.resource],
        "object_id": [None, query.object_id],
        "field": [None, query.field],
        "status": [None, QueryStatus.OPEN],
        "origin": [None, origin],
        "value": [None, target.value()],
    }
    if rule_code:
        changes["rule_code"] = [None, rule_code]
    _audit(query, ctx, AuditAction.CREATE, changes, text)
    return query


@transaction.atomic
def query_raise(*, ctx: AuditContext, resource: str, object_id: Any, field: str, text: str) -> Query:
    """A monitor or data manager asks the site about one field of one record."""
    text = _text(text)
    target = resolve(resource, object_id, field)
    if not _visible(ctx.user, target.site_id):
        raise ValidationError({"object_id": f"No {target.resource.name} record has id {target.record.pk}."})
    if not may_raise(ctx.user, target.site_id):
        raise PermissionDenied("Only a monitor or data manager of this site raises queries.")
    if getattr(target.record, "voided", False):
        raise ValidationError({"object_id": "This record is voided: queries are raised on live records."})
    return _create(target, ctx=ctx, text=text, origin=QueryOrigin.MANUAL)


def _locked(query_id: int) -> Query:
    return Query.objects.select_for_update().select_related("participant", "site").get(pk=query_id)


@transaction.atomic
def query_answer(*, ctx: AuditContext, query: Query, text: str, new_value: Any = NO_VALUE) -> Query:
    """The site answers an open query; with `new_value` the field is corrected in the same step.

    The correction goes through the record's own rules and `audited_update` (reason: the answer), so a
    locked record refuses it and nothing of the answer is stored.
    """
    text = _text(text)
    query = _locked(query.pk)
    if not may_answer(ctx.user, query.site_id):
        raise PermissionDenied("Only the site's staff answer queries.")
    if query.status != QueryStatus.OPEN:
        raise QueryStateError(
            f"This query is {query.get_status_display().lower()}: only an open query is answered."
        )
    changes: dict[str, list[Any]] = {
        "status": [QueryStatus.OPEN, QueryStatus.ANSWERED],
        "message": [None, text],
    }
    if new_value is NO_VALUE:
        _mark_answered(query, ctx, MessageKind.ANSWERED, text, changes)
        return query
    target = resolve(query.resource, query.object_id, query.field)
    field = target.correctable_field()
    if field is None:
        raise ValidationError(
            {"new_value": [f"{query.field} cannot be corrected in a query answer; edit the record."]}
        )
    capability = capability_for(target)
    if capability is None:
        raise ValidationError({"new_value": ["This kind of record is not corrected in a query answer."]})
    if not access.can(ctx.user, capability, target.site_id):
        raise PermissionDenied("Your role at this site does not allow correcting this record.")
    value = corrections.parse_value(field, new_value)
    old = target.value()
    changes["value"] = [old, serialise_value(value)]
    message = _mark_answered(query, ctx, MessageKind.CORRECTED, text, changes, old, serialise_value(value))
    try:
        corrections.correct(ctx, target, field, value, f"Query {query.pk}: {text}")
    except ValidationError as exc:
        raise _as_new_value_error(exc) from exc
    target.record.refresh_from_db()
    stored = target.value()
    if stored != message.new_value:  # the record's rules normalised it (e.g. a partial date)
        QueryMessage.objects.filter(pk=message.pk).update(new_value=stored)
    query.refresh_from_db()  # a rule that now passes closed an automatic query
    return query


def _mark_answered(
    query: Query,
    ctx: AuditContext,
    kind: str,
    text: str,
    changes: dict[str, list[Any]],
    old: Any = None,
    new: Any = None,
) -> QueryMessage:
    message = _message(query, ctx, kind, text, old, new)
    query.status = QueryStatus.ANSWERED
    query.answered_at = timezone.now()
    query.save(update_fields=["status", "answered_at", "updated_at"])
    _audit(query, ctx, AuditAction.UPDATE, changes, text)
    return message


def _as_new_value_error(exc: ValidationError) -> ValidationError:
    """A plain rule refusal of the corrected value is an error of `new_value`; locks and conflicts pass."""
    if type(exc) is not ValidationError:
        return exc
    if not hasattr(exc, "error_dict"):
        return ValidationError({"new_value": exc.messages})
    messages = [
        m if key in ("new_value", "__all__") else f"{key}: {m}"
        for key, ms in exc.message_dict.items()
        for m in ms
    ]
    return ValidationError({"new_value": messages})


def _require_raiser(ctx: AuditContext, query: Query) -> None:
    if not may_raise(ctx.user, query.site_id):
        raise PermissionDenied("Only a monitor or data manager of this site closes or reopens queries.")


@transaction.atomic
def query_close(*, ctx: AuditContext, query: Query, text: str = "") -> Query:
    text = _text(text, required=False) or "Closed."
    query = _locked(query.pk)
    _require_raiser(ctx, query)
    if query.status == QueryStatus.CLOSED:
        raise QueryStateError("This query is already closed.")
    old = query.status
    query.status = QueryStatus.CLOSED
    query.closed_at = timezone.now()
    query.closed_automatically = False
    query.save(update_fields=["status", "closed_at", "closed_automatically", "updated_at"])
    _message(query, ctx, MessageKind.CLOSED, text)
    _audit(
        query, ctx, AuditAction.UPDATE, {"status": [old, QueryStatus.CLOSED], "message": [None, text]}, text
    )
    return query


@transaction.atomic
def query_reopen(*, ctx: AuditContext, query: Query, text: str) -> Query:
    text = _text(text)
    query = _locked(query.pk)
    _require_raiser(ctx, query)
    if query.status == QueryStatus.OPEN:
        raise QueryStateError("This query is already open.")
    if (
        query.origin == QueryOrigin.AUTOMATIC
        and Query.objects.filter(
            origin=QueryOrigin.AUTOMATIC,
            rule_code=query.rule_code,
            resource=query.resource,
            object_id=query.object_id,
            field=query.field,
            status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED],
        )
        .exclude(pk=query.pk)
        .exists()
    ):
        raise QueryStateError("A newer automatic query of the same rule is open on this field.")
    old = query.status
    query.status = QueryStatus.OPEN
    query.reopen_count += 1
    query.closed_at = None
    query.closed_automatically = False
    query.save(update_fields=["status", "reopen_count", "closed_at", "closed_automatically", "updated_at"])
    _message(query, ctx, MessageKind.REOPENED, text)
    _audit(
        query,
        ctx,
        AuditAction.UPDATE,
        {
            "status": [old, QueryStatus.OPEN],
            "reopen_count": [query.reopen_count - 1, query.reopen_count],
            "message": [None, text],
        },
        text,
    )
    return query


def raise_automatic(target: Target, *, ctx: AuditContext, rule_code: str, text: str) -> Query:
    """Called by the rule engine (queries.automatic) inside a savepoint; the unique constraint stops twins."""
    return _create(target, ctx=ctx, text=text, origin=QueryOrigin.AUTOMATIC, rule_code=rule_code)


def close_automatic(query: Query, *, ctx: AuditContext, text: str) -> Query:
    """Close an automatic query whose rule now passes (the value was corrected), with an audited note."""
    query = _locked(query.pk)
    if query.status == QueryStatus.CLOSED:
        return query
    old = query.status
    query.status = QueryStatus.CLOSED
    query.closed_at = timezone.now()
    query.closed_automatically = True
    query.save(update_fields=["status", "closed_at", "closed_automatically", "updated_at"])
    _message(query, ctx, MessageKind.AUTOMATIC, text)
    _audit(
        query, ctx, AuditAction.UPDATE, {"status": [old, QueryStatus.CLOSED], "message": [None, text]}, text
    )
    return query
