"""Writes of the exports app: API tokens (issue, revoke) and bulk export jobs. All audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from exports.limits import check_export_limits
from exports.models import ExportJob
from exports.permissions import has_only_read_roles
from exports.selectors import is_data_manager
from trial.access import all_roles
from trial.api_auth import hash_key, new_key
from trial.audit import AuditContext, write_entry
from trial.audit_events import write_event
from trial.models import ApiToken, AuditAction, Role, TokenScope

TOKEN_DAYS_DEFAULT = 90
TOKEN_DAYS_MAX = 365


def _require_data_manager(user: Any) -> None:
    if not is_data_manager(user):
        raise PermissionDenied("Only a data manager can manage API tokens.")


@transaction.atomic
def token_issue(
    *,
    ctx: AuditContext,
    username: str,
    label: str = "",
    read_only: bool = True,
    expires_in_days: int = TOKEN_DAYS_DEFAULT,
    scopes: Iterable[str] | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for a user; returns the token and its key (shown once, stored hashed).

    Sponsor and monitor tokens are always read-only, whatever was asked. Every token expires (1 to 365 days;
    90 by default) and calls only its scopes (default: all).
    """
    _require_data_manager(ctx.user)
    owner = get_user_model().objects.filter(username=username, is_active=True).first()
    if owner is None:
        raise ValidationError({"username": f"No active user {username!r}."})
    if not all_roles(owner) and not owner.is_superuser:
        raise ValidationError({"username": f"{username} holds no active role at any site."})
    if not 1 <= expires_in_days <= TOKEN_DAYS_MAX:
        raise ValidationError(
            {"expires_in_days": f"A token lives 1 to {TOKEN_DAYS_MAX} days, not {expires_in_days}."}
        )
    chosen = _valid_scopes(scopes)
    forced = has_only_read_roles(owner) or Role.SPONSOR in all_roles(owner)
    key = new_key()
    token = ApiToken.objects.create(
        user=owner,
        key_hash=hash_key(key),
        prefix=key[:8],
        label=label.strip()[:100],
        read_only=bool(read_only or forced),
        created_by=ctx.user,
        expires_at=timezone.now() + dt.timedelta(days=expires_in_days),
        scopes=chosen,
    )
    write_entry(
        token,
        ctx=ctx,
        action=AuditAction.CREATE,
        reason="API token issued",
        changes={
            "user": [None, owner.get_username()],
            "prefix": [None, token.prefix],
            "label": [None, token.label],
            "read_only": [None, token.read_only],
            "expires_at": [None, token.expires_at.isoformat()],
            "scopes": [None, chosen],
        },
    )
    return token, key


def _valid_scopes(scopes: Iterable[str] | None) -> list[str]:
    """The scopes asked for, in TokenScope order; all of them when none were named."""
    if scopes is None:
        return list(TokenScope.values)
    asked = set(scopes)
    unknown = sorted(asked - set(TokenScope.values))
    if unknown:
        raise ValidationError(
            {"scopes": f"Unknown scope(s) {', '.join(unknown)}; use {', '.join(TokenScope.values)}."}
        )
    if not asked:
        raise ValidationError({"scopes": "A token needs at least one scope."})
    return [s for s in TokenScope.values if s in asked]


@transaction.atomic
def token_revoke(*, ctx: AuditContext, token: ApiToken, reason: str) -> ApiToken:
    _require_data_manager(ctx.user)
    if not (reason or "").strip():
        raise ValidationError({"reason": "A reason is required to revoke a token."})
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ValidationError("This token is already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    write_entry(
        token,
        ctx=ctx,
        action=AuditAction.VOID,
        reason=reason.strip(),
        changes={"revoked_at": [None, token.revoked_at.isoformat()]},
    )
    return token


def can_start_export(user: Any) -> bool:
    return is_data_manager(user) or Role.SPONSOR in all_roles(user)


@transaction.atomic
def export_job_start(*, ctx: AuditContext) -> ExportJob:
    """Queue a bulk export (data managers and the sponsor); the worker fills it in."""
    if not can_start_export(ctx.user):
        raise PermissionDenied("Only data managers and the sponsor can start a bulk export.")
    from exports.tasks import run_bulk_export

    check_export_limits(ctx.user)  # ExportLimitReached: a 429 on the API, a message on the page
    job = ExportJob.objects.create(requested_by=ctx.user)
    write_entry(job, ctx=ctx, action=AuditAction.EXPORT, changes={}, reason="bulk export started")
    transaction.on_commit(lambda: run_bulk_export.delay(job.pk))
    return job


def export_job_downloaded(*, ctx: AuditContext, job: ExportJob) -> None:
    """Record who downloaded a finished bulk export."""
    write_entry(job, ctx=ctx, action=AuditAction.DOWNLOAD, changes={}, reason="bulk export downloaded")


def csv_export_requested(*, ctx: AuditContext, resource: str, params: dict[str, Any]) -> None:
    """Record a CSV export of an API resource (what, with which filters)."""
    write_event(
        ctx,
        AuditAction.EXPORT,
        None,
        app_label="exports",
        model=resource,
        changes={"query": [None, params]},
        reason=f"CSV export of {resource}",
    )


def file_export_requested(*, ctx: AuditContext, what: str, params: dict[str, Any]) -> None:
    """Record a file export over the API (ODM, SDTM dataset, define.xml) with its parameters."""
    write_event(
        ctx,
        AuditAction.EXPORT,
        None,
        app_label="exports",
        model="file",
        changes={"query": [None, params]},
        reason=f"{what} exported",
    )
