"""Fill a page's form the way a browser would: every input, select and textarea with its rendered value."""

from __future__ import annotations

from typing import Any

import lxml.html


def form_values(html: bytes | str, form_index: int = -1) -> dict[str, str]:
    """The name -> value pairs a browser submits for the page's form (default: its last form)."""
    forms = lxml.html.fromstring(html).forms
    form = forms[form_index]
    values: dict[str, str] = {}
    for name, value in form.form_values():
        values[name] = value
    return values


def submit(client: Any, url: str, changes: dict[str, Any], page: bytes | None = None) -> Any:
    """POST `url`'s form as rendered in `page` (or fetched now) with `changes` applied."""
    html = page if page is not None else client.get(url).content
    data = {**form_values(html), **changes}
    return client.post(url, {k: v for k, v in data.items() if v is not None})
