"""Who may see and do what, at which site. Every selector of clinical data scopes through here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from trial.models import ALL_SITES_ROLES, Membership, Role, Site

# Which roles may perform which kind of write, at a site where they hold the role.
WRITE_CAPABILITIES: dict[str, frozenset[str]] = {
    "enrolment": frozenset({Role.SITE_COORDINATOR, Role.INVESTIGATOR}),
    "schedule": frozenset({Role.SITE_COORDINATOR, Role.INVESTIGATOR}),
    "dosing": frozenset({Role.SITE_COORDINATOR, Role.INVESTIGATOR}),
    "adverse_events": frozenset({Role.SITE_COORDINATOR, Role.INVESTIGATOR}),
    "sign_adverse_events": frozenset({Role.INVESTIGATOR}),
    "imaging": frozenset({Role.RADIOLOGIST}),
    # Letting a PET upload blocked by a header/record contradiction through (with a reason).
    "override_imaging_block": frozenset({Role.RADIOLOGIST, Role.DATA_MANAGER}),
    "lesions": frozenset({Role.RADIOLOGIST}),
    "pathology": frozenset({Role.PATHOLOGIST}),
    "void": frozenset({Role.SITE_COORDINATOR, Role.INVESTIGATOR, Role.DATA_MANAGER}),
    # Imaging, lesion and pathology records are voided by the specialists who enter them.
    "void_imaging": frozenset({Role.RADIOLOGIST, Role.DATA_MANAGER}),
    "void_lesions": frozenset({Role.RADIOLOGIST, Role.DATA_MANAGER}),
    "void_pathology": frozenset({Role.PATHOLOGIST, Role.DATA_MANAGER}),
    "protocol": frozenset({Role.DATA_MANAGER}),
    "tokens": frozenset({Role.DATA_MANAGER}),
}


VOID_CAPABILITY_BY_APP = {
    "imaging": "void_imaging",
    "mri": "void_imaging",
    "lesions": "void_lesions",
    "pathology": "void_pathology",
}


def void_capability(app_label: str) -> str:
    """The capability needed to void or restore a record of this app."""
    return VOID_CAPABILITY_BY_APP.get(app_label, "void")


def active_memberships(user: Any) -> QuerySet[Membership]:
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return Membership.objects.filter(user=user, active=True)


# user id -> that user's active (site_id, role) pairs, while `memberships_read_once()` is in force.
_MEMBERSHIPS: ContextVar[dict[int, list[tuple[int, str]]] | None] = ContextVar(
    "trial_access_memberships", default=None
)


@contextmanager
def memberships_read_once() -> Iterator[None]:
    """Inside the block each user's active memberships are read once and every permission question below is
    answered from them (a page asking many questions about one user: one query instead of one per question).
    For reads only: a membership granted or revoked inside the block is not seen."""
    token = _MEMBERSHIPS.set({})
    try:
        yield
    finally:
        _MEMBERSHIPS.reset(token)


def _read_once(user: Any) -> list[tuple[int, str]] | None:
    """The user's active (site_id, role) pairs from the block's cache, or None outside `memberships_read_once`."""
    cache = _MEMBERSHIPS.get()
    if cache is None or not getattr(user, "is_authenticated", False):
        return None
    if user.pk not in cache:
        cache[user.pk] = list(active_memberships(user).values_list("site_id", "role"))
    return cache[user.pk]


def sees_all_sites(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    pairs = _read_once(user)
    if pairs is not None:
        return any(role in ALL_SITES_ROLES for _site, role in pairs)
    return active_memberships(user).filter(role__in=ALL_SITES_ROLES).exists()


def visible_site_ids(user: Any) -> list[int] | None:
    """Site ids the user may read; None means every site."""
    if sees_all_sites(user):
        return None
    pairs = _read_once(user)
    if pairs is not None:
        return list(dict.fromkeys(site_id for site_id, _role in pairs))
    return list(active_memberships(user).values_list("site_id", flat=True).distinct())


def sites_visible_to(user: Any) -> QuerySet[Site]:
    ids = visible_site_ids(user)
    return Site.objects.all() if ids is None else Site.objects.filter(id__in=ids)


def scope_to_user(qs: QuerySet, user: Any, site_field: str = "participant__site") -> QuerySet:
    """Restrict a queryset of clinical data to the sites the user may read."""
    ids = visible_site_ids(user)
    if ids is None:
        return qs
    return qs.filter(**{f"{site_field}__in": ids})


def roles_at(user: Any, site: Site | int) -> set[str]:
    site_id = site if isinstance(site, int) else site.pk
    pairs = _read_once(user)
    if pairs is not None:
        return {role for s, role in pairs if s == site_id or role in ALL_SITES_ROLES}
    roles = set(active_memberships(user).filter(site_id=site_id).values_list("role", flat=True))
    roles |= set(active_memberships(user).filter(role__in=ALL_SITES_ROLES).values_list("role", flat=True))
    return roles


def all_roles(user: Any) -> set[str]:
    pairs = _read_once(user)
    if pairs is not None:
        return {role for _site, role in pairs}
    return set(active_memberships(user).values_list("role", flat=True))


def can(user: Any, capability: str, site: Site | int) -> bool:
    if getattr(user, "is_superuser", False) and capability in {"protocol", "tokens"}:
        return True
    return bool(roles_at(user, site) & WRITE_CAPABILITIES[capability])


def require(user: Any, capability: str, site: Site | int) -> None:
    """Raise PermissionDenied (403) unless the user holds a role with this capability at the site."""
    if not can(user, capability, site):
        raise PermissionDenied(
            f"Your role at this site does not allow this ({capability.replace('_', ' ')})."
        )


def sites_where(user: Any, capability: str) -> QuerySet[Site]:
    allowed = WRITE_CAPABILITIES[capability]
    ids = active_memberships(user).filter(role__in=allowed).values_list("site_id", flat=True)
    return Site.objects.filter(id__in=ids)
