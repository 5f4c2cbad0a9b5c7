"""OpenAPI pieces shared by the export endpoints: the problem-details error body and the documented errors."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation

PROBLEM = "application/problem+json"

Problem = inline_serializer(
    "Problem",
    fields={
        "type": serializers.CharField(help_text="about:blank"),
        "title": serializers.CharField(help_text="HTTP status phrase."),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(help_text="What went wrong, in one sentence."),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Field (query parameter or body field) -> messages; empty when no field is at fault.",
        ),
    },
)


def _problem(text: str) -> OpenApiResponse:
    return OpenApiResponse(Problem, description=text)


ERROR_TEXTS = {
    400: "Invalid query parameter or body (see errors).",
    401: "No token, or an invalid, revoked or expired token (WWW-Authenticate: Token).",
    403: "The token or role may not do this (read-only token, missing scope, wrong role).",
    404: "No such record or file among those you may read.",
    429: "Too many requests for this token (Retry-After gives the seconds to wait).",
}

ERRORS_READ = {(code, PROBLEM): _problem(text) for code, text in ERROR_TEXTS.items()}


class IgnoreAccept(BaseContentNegotiation):
    """Files have one media type each; errors are problem+json whatever the Accept header asked for."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
