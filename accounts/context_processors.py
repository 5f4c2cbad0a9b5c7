from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest

from accounts import otp


def account_menu(request: HttpRequest) -> dict[str, Any]:
    """Whether the user menu offers two-factor set-up (evaluated only where a template asks)."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    return {"otp_available": partial(otp.is_eligible, user)}
