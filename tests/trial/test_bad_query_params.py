"""Bad query parameters never give a 5xx: every API list route (from the OpenAPI schema) and every page.

Each filter of each API list (and change feed) gets each bad value, as JSON and as CSV (the CSV body is read
to the end, so an error while streaming fails too); every page without URL kwargs gets every known GET
filter name set to each bad value.
"""

from __future__ import annotations

import functools

import pytest
from django.urls import get_resolver
from drf_spectacular.generators import SchemaGenerator

from tests.trial.test_site_isolation import walk

pytestmark = pytest.mark.django_db

BAD_VALUES = (
    "a\x00b",
    "2024-02-30",
    "2024-13-45T00:00:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+01:00",
    "not-a-number",
)
PAGE_FILTERS = (
    "site",
    "status",
    "drug",
    "tumour_type",
    "q",
    "serious",
    "immune_related",
    "include_voided",
    "term",
    "table",
    "period",
    "plot",
    "marker",
    "participant",
    "page",
    "format",
)
# Sent to every list too, documented or not (hand-read parameters are often undocumented).
API_COMMON = {
    "participant",
    "site",
    "drug",
    "serious",
    "immune_related",
    "page_size",
    "cursor",
    "since",
    "format",
}
SKIP_PAGE_PREFIXES = ("admin", "api/", "accounts/logout")


@functools.cache
def api_lists() -> list[tuple[str, tuple[str, ...]]]:
    """(path, query parameter names) of every GET route of the API without a path parameter."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    routes = []
    for path, item in schema["paths"].items():
        if "{" in path or "get" not in item or not path.startswith("/api/v1/"):
            continue
        documented = {p["name"] for p in item["get"].get("parameters", []) if p["in"] == "query"}
        routes.append((path, tuple(sorted(documented | API_COMMON))))
    return sorted(routes)


def pages() -> list[str]:
    return sorted(
        "/" + route
        for route, _name, kwargs in walk(get_resolver())
        if not kwargs and not route.startswith(SKIP_PAGE_PREFIXES) and "<" not in route and "(" not in route
    )


def _status(client, path: str, params: dict) -> int:
    response = client.get(path, params)
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return response.status_code


def test_the_walk_covers_the_api_lists_and_pages():
    paths = [p for p, _ in api_lists()]
    assert "/api/v1/export/adverse-events/" in paths and "/api/v1/adverse-events/" in paths
    assert sum(len(set(names) - API_COMMON) for _, names in api_lists()) >= 20
    assert {"/safety/", "/safety/tables/", "/pathology/analyses/"} <= set(pages())


@pytest.mark.parametrize("path,names", api_lists(), ids=[p for p, _ in api_lists()])
def test_api_list_bad_query_values_never_5xx(path, names, client, data_manager):
    client.force_login(data_manager)
    failures = []
    for name in names:
        if name == "format":
            continue
        for value in BAD_VALUES:
            for fmt in ("json", "csv") if "format" in names else ("json",):
                try:
                    code = _status(client, path, {name: value, "format": fmt})
                except Exception as exc:  # noqa: BLE001 - any exception is the 500 we look for
                    code = f"{type(exc).__name__}: {exc}"[:120]
                if not isinstance(code, int) or code >= 500:
                    failures.append((name, value, fmt, code))
    assert not failures


@pytest.mark.parametrize("path", pages())
def test_page_bad_query_values_never_5xx(path, client, data_manager):
    client.force_login(data_manager)
    failures = []
    for value in BAD_VALUES:
        for extra in ({}, {"download": value}):
            params = {name: value for name in PAGE_FILTERS} | extra
            try:
                code = _status(client, path, params)
            except Exception as exc:  # noqa: BLE001
                code = f"{type(exc).__name__}: {exc}"[:120]
            if not isinstance(code, int) or code >= 500:
                failures.append((value, bool(extra), code))
    assert not failures


@pytest.mark.parametrize(
    "url,field,value",
    [
        ("/participants/?status=zombie", "status", "zombie"),
        ("/participants/?drug=aspirin", "drug", "aspirin"),
        ("/participants/?q=a%00b", "q", "Null characters"),
        ("/safety/?drug=aspirin", "drug", "aspirin"),
        ("/safety/?serious=maybe", "serious", "maybe"),
        ("/safety/?site=NL%0001", "site", "Null characters"),
        ("/safety/tables/?drug=aspirin", "drug", "aspirin"),
        ("/safety/tables/csv/?drug=aspirin", "drug", "aspirin"),
        ("/pathology/?period=never", "period", "never"),
        ("/pathology/analyses/?drug=aspirin", "drug", "aspirin"),
    ],
)
def test_a_bad_page_filter_is_a_400_page_naming_the_field(url, field, value, client, data_manager):
    client.force_login(data_manager)
    response = client.get(url)
    assert response.status_code == 400
    text = response.content.decode()
    assert f"{field}:" in text and value in text.replace("&#x27;", "'")
