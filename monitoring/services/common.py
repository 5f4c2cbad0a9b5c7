"""Shared helpers of the monitoring services: roles, record lookup by export resource, lock lookup."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q, Subquery

from monitoring import targets
from monitoring.models import DataLock, LockKind, LockScope
from trial import access
from trial.models import ClinicalRecord, Participant, Role


def is_data_manager(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False) or Role.DATA_MANAGER in access.all_roles(user))


def require_data_manager(user: Any, what: str) -> None:
    if not is_data_manager(user):
        raise PermissionDenied(f"Only a data manager may {what}.")


def has_role_at(user: Any, role: str, site_id: int) -> bool:
    return role in access.roles_at(user, site_id)


def record_for(user: Any, resource_name: str, object_id: Any) -> tuple[Any, models.Model]:
    """(export resource, record) for a resource name and id the user may see; ValidationError naming the field."""
    resource = targets.resolve(resource_name or "")
    clinical = resource is not None and issubclass(resource.model, ClinicalRecord)
    if (
        not clinical
        or resource.model._meta.app_label in targets.NON_CLINICAL_APPS
        or targets.participant_path(resource.model) is None
    ):
        raise ValidationError({"resource": f"Unknown clinical resource {resource_name!r}."})
    try:
        pk = int(object_id)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"object_id": "The object id must be a whole number."}) from exc
    qs = resource.model._base_manager.all()
    if resource.site_field:
        qs = access.scope_to_user(qs, user, site_field=resource.site_field)
    record = qs.filter(pk=pk).first()
    if record is None:
        raise ValidationError({"object_id": f"No {resource.name} record {pk} at your sites."})
    return resource, record


def live_lock(
    *,
    participant: int | Subquery | None,
    site: int | Subquery | None = None,
    record: tuple[str, str, int | None] | None = None,
    kinds: tuple[str, ...] = (LockKind.FREEZE, LockKind.LOCK),
) -> DataLock | None:
    """The live freeze/lock covering this record, casebook, site or the study (one indexed query)."""
    q = Q(scope=LockScope.STUDY)
    if participant is not None:
        q |= Q(scope=LockScope.PARTICIPANT, participant_id=participant)
        if site is None:
            site = Subquery(Participant._base_manager.filter(pk=participant).values("site_id")[:1])
    if site is not None:
        q |= Q(scope=LockScope.SITE, site_id=site)
    if record is not None and record[2] is not None:
        q |= Q(scope=LockScope.RECORD, app_label=record[0], model=record[1], object_id=record[2])
    return (
        DataLock.objects.filter(q, released_at__isnull=True, kind__in=kinds)
        .select_related("participant", "site", "created_by")
        .order_by("-kind", "id")  # a lock before a freeze
        .first()
    )


def lock_of(
    instance: models.Model, kinds: tuple[str, ...] = (LockKind.FREEZE, LockKind.LOCK)
) -> DataLock | None:
    """The live freeze/lock covering a clinical record (one query)."""
    meta = instance._meta
    site = instance.site_id if isinstance(instance, Participant) else None
    return live_lock(
        participant=targets.participant_ref(instance),
        site=site,
        record=(meta.app_label, meta.model_name, instance.pk),
        kinds=kinds,
    )


def lock_message(lock: DataLock, what: str = "This record") -> str:
    who = lock.created_by.get_full_name() or lock.created_by.get_username()
    return (
        f"{what} is {lock.get_kind_display().lower()}: {lock.target_label} was {lock.get_kind_display().lower()} "
        f"by {who} at {lock.created_at:%Y-%m-%d %H:%M} UTC ({lock.reason}). Nothing was saved; a data manager "
        "can release it with a reason. Queries can still be raised and answered."
    )
