"""drf-spectacular postprocessing: document the error responses every API operation can give.

Views declare their success responses; the errors come from the framework around them (authentication,
permissions, throttling, lookups, validation, version checks), so they are added here, once, for every
operation that can produce them. A response a view documents itself (`extend_schema(responses=...)`) wins.
"""

from __future__ import annotations

from typing import Any

PROBLEM = "Problem"
ERROR_MEDIA_TYPES = ("application/json", "application/problem+json")
UNSAFE = {"post", "put", "patch", "delete"}
# DRF answers 404 to an invalid pagination cursor and to an unknown ?format=.
NOT_FOUND_QUERY = {"cursor", "format"}

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "An error: RFC 9457 problem details (`type`, `title`, `status`, `detail`), with the field "
        "messages in `errors` (`{field: [messages]}`; empty when no field is at fault). "
        "Rendered by trial.api_errors.problem_exception_handler."
    ),
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Field (or query parameter) -> messages; `non_field_errors` for the rest.",
            "additionalProperties": True,
        },
    },
    "required": ["type", "title", "status", "detail", "errors"],
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    "400": "Invalid request: bad query parameter, body or cursor; field errors are listed.",
    "401": "No credentials, or an unknown, expired or revoked token.",
    "403": "Authenticated but not allowed (role, site or a read-only token).",
    "404": "No such object (or not visible to the caller's sites), an invalid `cursor` or an unknown `format`.",
    "409": "Conflict: the record changed since it was read (stale version) or the state forbids it.",
    "423": "Locked: the record, casebook, site or study is frozen or locked; nothing was written.",
    "429": "Too many requests for this token or user; retry after `Retry-After` seconds.",
}


def _error_codes(method: str, operation: dict[str, Any]) -> list[str]:
    params = operation.get("parameters", [])
    codes = ["401", "403", "429"]
    if any(p.get("in") == "path" or p.get("name") in NOT_FOUND_QUERY for p in params):
        codes.append("404")
    if any(p.get("in") == "query" for p in params) or "requestBody" in operation or method in UNSAFE:
        codes.append("400")
    if method in UNSAFE:
        codes += ["409", "423"]
    return sorted(codes)


def _error_response(code: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{PROBLEM}"}
    return {"description": _DESCRIPTIONS[code], "content": {mt: {"schema": ref} for mt in ERROR_MEDIA_TYPES}}


def document_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: add the framework's error responses to every `/api/` operation."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(PROBLEM, _PROBLEM_SCHEMA)
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code in _error_codes(method, operation):
                operation["responses"].setdefault(code, _error_response(code))
    return result
