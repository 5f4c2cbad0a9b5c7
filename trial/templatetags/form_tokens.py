"""`{% form_token %}`: the one-time token a create form carries (see trial.idempotency.submit_once)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from trial.idempotency import FORM_TOKEN_FIELD, form_token_for

register = template.Library()


@register.simple_tag(takes_context=True)
def form_token(context: template.Context) -> str:
    request = context.get("request")
    if request is None:
        return ""
    return format_html(
        '<input type="hidden" name="{}" value="{}">', FORM_TOKEN_FIELD, form_token_for(request)
    )
