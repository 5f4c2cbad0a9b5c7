from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from trial.access import all_roles, sees_all_sites


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    roles = all_roles(user)
    return {"user_roles": sorted(roles), "user_sees_all_sites": sees_all_sites(user)}
