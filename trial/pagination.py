"""Numbered pages for every HTML list: a count, `?page=` (or another parameter) and the filters kept in links.

`paginate` runs two queries whatever the table's size (COUNT and one LIMIT/OFFSET slice); a page number that
is not a number or past the end shows the nearest page instead of an error. The template
`trial/_pager.html` renders "Page x of y (n items)" with previous/next links carrying the other parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PER_PAGE = 50


@dataclass(frozen=True)
class Pager:
    page: Page
    param: str
    query: str  # the request's other parameters, urlencoded, without `param`
    noun: str

    @property
    def items(self) -> list[Any]:
        return list(self.page.object_list)

    def link(self, number: int) -> str:
        return f"?{self.query}&{self.param}={number}" if self.query else f"?{self.param}={number}"

    @property
    def previous_link(self) -> str:
        return self.link(self.page.previous_page_number()) if self.page.has_previous() else ""

    @property
    def next_link(self) -> str:
        return self.link(self.page.next_page_number()) if self.page.has_next() else ""


def paginate(
    request: HttpRequest,
    items: Any,
    *,
    per_page: int = PER_PAGE,
    param: str = "page",
    noun: str = "rows",
    count: int | None = None,
) -> Pager:
    """One page of `items` (a queryset or list) for the request's `param`; the object list is evaluated.
    `count`: the number of items when the caller already knows it (no COUNT query)."""
    paginator = Paginator(items, per_page)
    if count is not None:
        paginator.count = count  # Paginator.count is a cached_property: set, it is not queried
    page = paginator.get_page(request.GET.get(param))
    page.object_list = list(page.object_list)
    params = request.GET.copy()
    params.pop(param, None)
    return Pager(page=page, param=param, query=params.urlencode(), noun=noun)
