"""Security events in the audit trail: logins, logouts, failed logins, account and permission changes.

Auth signals carry the request; model signals (User flags, groups and permissions, Membership) take the
acting user, address and request id from the request being served (`AuditRequestMiddleware`), or are
recorded as "system" outside a request (commands, demo loading, workers).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.http import HttpRequest, HttpResponse

from trial.audit import AuditContext, _display_name, snapshot
from trial.audit_chain import append
from trial.client_ip import client_ip
from trial.logging import request_id_var
from trial.models import AuditAction, AuditEntry, AuditSource, Membership

current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "audit_current_request", default=None
)
USER_FLAGS = ("is_superuser", "is_staff", "is_active")


class AuditRequestMiddleware:
    """Makes the request being served (after authentication) known to the model-signal audit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


def _source_of(request: HttpRequest) -> str:
    if request.path.startswith("/admin/"):
        return AuditSource.ADMIN
    return AuditSource.API if request.path.startswith("/api/") else AuditSource.BROWSER


def context_now() -> AuditContext:
    """The AuditContext of the request being served, else a system context."""
    request = current_request.get()
    if request is None:
        return AuditContext.system()
    return AuditContext.from_request(request, source=_source_of(request))


def write_event(
    ctx: AuditContext,
    action: str,
    target: Any,
    *,
    changes: dict[str, Any] | None = None,
    reason: str = "",
    object_repr: str | None = None,
    app_label: str = "",
    model: str = "",
) -> AuditEntry:
    """Append an audit entry about `target` (a model instance, or None: an unknown account by default)."""
    user = ctx.user if getattr(ctx.user, "is_authenticated", False) else None
    meta = target._meta if target is not None else get_user_model()._meta
    return append(
        AuditEntry(
            user=user,
            user_display=_display_name(ctx.user),
            action=action,
            app_label=app_label or meta.app_label,
            model=(model or meta.model_name)[:60],
            object_id=str(target.pk) if target is not None else "",
            object_repr=(object_repr if object_repr is not None else str(target or ""))[:200],
            participant_id=None,
            site_id=getattr(target, "site_id", None),
            changes=changes or {},
            reason=reason,
            source=ctx.source,
            ip_address=ctx.ip_address,
            request_id=ctx.request_id or request_id_var.get(),
        )
    )


def _request_ctx(request: HttpRequest | None, user: Any) -> AuditContext:
    if request is None:
        return AuditContext.system(user=user)
    return AuditContext(
        user=user,
        source=_source_of(request),
        ip_address=client_ip(request),
        request_id=getattr(request, "request_id", "") or request_id_var.get(),
    )


def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    write_event(_request_ctx(request, user), AuditAction.LOGIN, user, reason="login")


def on_logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        write_event(_request_ctx(request, user), AuditAction.LOGOUT, user, reason="logout")


def on_login_failed(
    sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    typed = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")
    typed = typed.replace("\x00", "")[:150]
    account = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: typed}).first()
    write_event(
        _request_ctx(request, None),
        AuditAction.LOGIN_FAILED,
        account,
        object_repr=typed,
        reason="failed login (wrong user name or password)",
    )


def _flags(user: Any) -> dict[str, Any]:
    return {name: getattr(user, name) for name in USER_FLAGS}


def on_user_pre_save(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and not set(update_fields) & set(USER_FLAGS):
        return
    old = sender._default_manager.filter(pk=instance.pk).values(*USER_FLAGS).first() if instance.pk else None
    instance._audit_flags_before = old


def on_user_post_save(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not hasattr(instance, "_audit_flags_before"):
        return
    before = instance._audit_flags_before or {}
    del instance._audit_flags_before
    after = _flags(instance)
    changes = {k: [before.get(k), v] for k, v in after.items() if created or before.get(k) != v}
    if changes:
        reason = "account created" if created else "account flags changed"
        write_event(context_now(), AuditAction.ACCOUNT, instance, changes=changes, reason=reason)


def on_membership_pre_save(sender: Any, instance: Membership, **kwargs: Any) -> None:
    old = sender.objects.filter(pk=instance.pk).first() if instance.pk else None
    instance._audit_before = snapshot(old) if old is not None else {}


def on_membership_post_save(sender: Any, instance: Membership, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_audit_before", {})
    changes = {k: [before.get(k), v] for k, v in snapshot(instance).items() if before.get(k) != v}
    if changes:
        reason = "membership created" if created else "membership changed"
        write_event(context_now(), AuditAction.ACCOUNT, instance, changes=changes, reason=reason)


def _names(model: Any, pks: set[Any] | None) -> list[str]:
    return sorted(str(obj) for obj in model._default_manager.filter(pk__in=pks or ()))


def on_m2m_changed(sender: Any, instance: Any, action: str, model: Any, pk_set: Any, **kwargs: Any) -> None:
    """Groups and permissions granted or revoked, on either side of the relation."""
    if action == "pre_clear":
        instance._audit_cleared = _related_pks(sender, instance, model)
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if action == "post_clear":
        pk_set = getattr(instance, "_audit_cleared", set())
    if not pk_set:
        return
    label = f"{model._meta.verbose_name_plural}"
    names = _names(model, pk_set)
    added = action == "post_add"
    changes = {f"{label} {'added' if added else 'removed'}": [None, names] if added else [names, None]}
    write_event(context_now(), AuditAction.ACCOUNT, instance, changes=changes, reason="permissions changed")


def _related_pks(through: Any, instance: Any, model: Any) -> set[Any]:
    """Primary keys of `model` rows linked to `instance` through the m2m table `through`."""
    fks = [f for f in through._meta.fields if f.is_relation]
    own = next(f for f in fks if isinstance(instance, f.related_model))
    other = next(f for f in fks if f is not own and f.related_model is model)
    return set(through.objects.filter(**{own.attname: instance.pk}).values_list(other.attname, flat=True))


def connect() -> None:
    """Wire the handlers (called once from TrialConfig.ready)."""
    user_model = get_user_model()
    user_logged_in.connect(on_logged_in, dispatch_uid="audit_login")
    user_logged_out.connect(on_logged_out, dispatch_uid="audit_logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="audit_login_failed")
    pre_save.connect(on_user_pre_save, sender=user_model, dispatch_uid="audit_user_pre")
    post_save.connect(on_user_post_save, sender=user_model, dispatch_uid="audit_user_post")
    pre_save.connect(on_membership_pre_save, sender=Membership, dispatch_uid="audit_membership_pre")
    post_save.connect(on_membership_post_save, sender=Membership, dispatch_uid="audit_membership_post")
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(on_m2m_changed, sender=through, dispatch_uid=f"audit_m2m_{through._meta.label}")


def login_refused(request: HttpRequest, typed: str, why: str) -> AuditEntry:
    """A login refused before the password was checked (e.g. a locked account)."""
    typed = typed.replace("\x00", "")[:150]
    account = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: typed}).first()
    return write_event(
        _request_ctx(request, None),
        AuditAction.LOGIN_FAILED,
        account,
        object_repr=typed,
        reason=f"login refused: {why}",
    )


def token_used(request: Any, token: Any) -> AuditEntry:
    """One entry per API request authenticated by a token (who, which token, what was asked)."""
    ctx = replace(_request_ctx(request, token.user), source=AuditSource.API)
    asked = f"{request.method} {request.get_full_path()}"[:500]
    return write_event(
        ctx, AuditAction.TOKEN_USE, token, changes={"request": [None, asked]}, reason="API token used"
    )
