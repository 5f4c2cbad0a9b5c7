"""OpenAPI description of the hashed token authentication (drf-spectacular extension)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

TOKEN_HELP = (
    "Per-user token issued by a data manager (shown once, stored hashed), sent as "
    '"Authorization: Token <key>" or "Authorization: Bearer <key>". A token may carry an expiry and '
    "scopes; an expired or revoked token answers 401."
)


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "trial.api_auth.HashedTokenAuthentication"
    name = ["tokenAuth", "bearerAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        """Either scheme alone authenticates (OR, not AND)."""
        return [{"tokenAuth": []}, {"bearerAuth": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "apiKey", "in": "header", "name": "Authorization", "description": TOKEN_HELP},
            {"type": "http", "scheme": "bearer", "description": TOKEN_HELP},
        ]
