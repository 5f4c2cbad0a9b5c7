"""Cursor pagination of every API list (DRF's DEFAULT_PAGINATION_CLASS points here).

Kept in a module of its own that imports no viewsets: DRF resolves the default pagination class while
`rest_framework.generics` is being imported, so the module it names must not import generics or viewsets.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.pagination import CursorPagination

MAX_PAGE = 1000


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE

    def decode_cursor(self, request):
        """A cursor that cannot be decoded is a 400 naming the parameter (DRF answers 404)."""
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise DRFValidationError({self.cursor_query_param: ["Invalid cursor."]}) from exc
