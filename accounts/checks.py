from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from trial.models import Role


@register()
def otp_required_roles_are_known(app_configs, **kwargs) -> list[Error]:
    """A misspelt role in OTP_REQUIRED_ROLES would silently enforce nothing."""
    known = set(Role.values) | {"admin"}
    unknown = sorted(set(settings.OTP_REQUIRED_ROLES) - known)
    if not unknown:
        return []
    return [
        Error(
            f"OTP_REQUIRED_ROLES names unknown roles: {', '.join(unknown)}.",
            hint=f"Use some of: {', '.join(sorted(known))}.",
            id="accounts.E001",
        )
    ]
