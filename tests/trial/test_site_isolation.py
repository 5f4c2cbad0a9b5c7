"""Walk every page and API route that takes a participant-scoped object.

A coordinator of another site gets 404 (existence is not disclosed) on GET and POST; read-only roles
(monitor, sponsor) get 403 or 405 on POST, unless READ_ROLE_POSTS_ALLOWED names the URL (or "api:<prefix>" for an
API collection) as one such a role legitimately posts to. Every app registers its URL kwargs in
tests/<app>/isolation.py; an unregistered kwarg fails the walk, so a new page cannot skip the check.
"""

from __future__ import annotations

import importlib

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import factories
from trial.models import Role

pytestmark = pytest.mark.django_db

APPS = (
    "trial",
    "safety",
    "imaging",
    "lesions",
    "pathology",
    "exports",
    "queries",
    "monitoring",
    "casebook",
    "kinetics",
    "mri",
)
# accounts/: login, password and two-factor pages; their kwargs (reset link uid/token) name no clinical object.
SKIP_PREFIXES = ("admin", "api/", "accounts/")
GLOBAL_KWARGS: set[str] = set()


def registries():
    kwarg_builders, pattern_builders, read_posts = {}, {}, set()
    for app in APPS:
        try:
            module = importlib.import_module(f"tests.{app}.isolation")
        except ModuleNotFoundError:
            continue
        kwarg_builders.update(getattr(module, "KWARG_BUILDERS", {}))
        pattern_builders.update(getattr(module, "PATTERN_BUILDERS", {}))
        read_posts |= set(getattr(module, "READ_ROLE_POSTS_ALLOWED", set()))
    return kwarg_builders, pattern_builders, read_posts


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield prefix + str(entry.pattern), namespace + entry.name, set(entry.pattern.converters)


def scoped_patterns():
    return [
        (route, name, kwargs)
        for route, name, kwargs in walk(get_resolver())
        if kwargs and not route.startswith(SKIP_PREFIXES)
    ]


@pytest.fixture
def allrounder(site_nl):
    """An NL01 user holding every write role, to build objects of any app."""
    return factories.make_user(
        "alex",
        (site_nl, Role.SITE_COORDINATOR),
        (site_nl, Role.INVESTIGATOR),
        (site_nl, Role.RADIOLOGIST),
        (site_nl, Role.PATHOLOGIST),
    )


@pytest.fixture
def scoped_urls(participant, allrounder):
    kwarg_builders, pattern_builders, read_posts = registries()
    urls, missing = [], []
    for route, name, kwargs in scoped_patterns():
        if name in pattern_builders:
            urls.append((name, reverse(name, kwargs=pattern_builders[name](participant, allrounder))))
            continue
        unknown = kwargs - set(kwarg_builders)
        if unknown:
            missing.append(f"{route} ({name}): {sorted(unknown)}")
            continue
        urls.append(
            (name, reverse(name, kwargs={k: kwarg_builders[k](participant, allrounder) for k in kwargs}))
        )
    assert not missing, "Register these URL kwargs in tests/<app>/isolation.py: " + "; ".join(missing)
    return urls, read_posts


def test_the_walk_covers_every_participant_scoped_page(scoped_urls):
    urls, _ = scoped_urls
    names = {name for name, _ in urls}
    assert {"participant_detail", "visit_record", "record_void", "tracer_dose_new"} <= names


def test_another_sites_coordinator_gets_404_everywhere(scoped_urls, client, other_coordinator):
    urls, _ = scoped_urls
    client.force_login(other_coordinator)
    wrong = []
    for name, url in urls:
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            # 405 (a read-only page, or a POST-only action) says nothing about the object: as safe as 404.
            if status not in (404, 405):
                wrong.append(f"{method.upper()} {url} ({name}) -> {status}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role_user", ["monitor", "sponsor"])
def test_read_only_roles_cannot_write(scoped_urls, client, request, role_user):
    urls, read_posts = scoped_urls
    client.force_login(request.getfixturevalue(role_user))
    wrong = []
    for name, url in urls:
        if name in read_posts:
            continue
        status = client.post(url, {"reason": "trying"}).status_code
        if status not in (403, 405):
            wrong.append(f"POST {url} ({name}) -> {status}")
        get_status = client.get(url).status_code
        if get_status >= 500:
            wrong.append(f"GET {url} ({name}) -> {get_status}")
    assert not wrong, "\n".join(wrong)


def api_routes():
    from config.api_router import router

    return [(prefix, basename) for prefix, _viewset, basename in router.registry]


def test_api_lists_and_details_are_scoped_to_the_users_sites(
    participant, allrounder, client, data_manager, other_coordinator
):
    _, pattern_builders, _ = registries()
    kwarg_builders, _, _ = registries()
    for build in kwarg_builders.values():
        build(participant, allrounder)
    client.force_login(data_manager)
    seen = {}
    for prefix, _basename in api_routes():
        response = client.get(f"/api/v1/{prefix}/")
        assert response.status_code == 200, (prefix, response.status_code)
        body = response.json()
        items = body["results"] if isinstance(body, dict) and "results" in body else body
        seen[prefix] = [item["id"] for item in items if isinstance(item, dict) and "id" in item]
    client.force_login(other_coordinator)
    leaks = []
    for prefix, ids in seen.items():
        if prefix == "sites":
            continue
        listing = client.get(f"/api/v1/{prefix}/")
        if participant.study_id in listing.content.decode():
            leaks.append(f"list {prefix}")
        for pk in ids[:5]:
            status = client.get(f"/api/v1/{prefix}/{pk}/").status_code
            if status != 404:
                leaks.append(f"detail {prefix}/{pk} -> {status}")
    assert not leaks, leaks


@pytest.mark.parametrize("role_user", ["monitor", "sponsor"])
def test_read_only_roles_cannot_write_through_the_api(client, request, role_user, participant):
    _, _, read_posts = registries()
    client.force_login(request.getfixturevalue(role_user))
    wrong = []
    for prefix, _basename in api_routes():
        if (
            f"api:{prefix}" in read_posts
        ):  # e.g. a monitor raising a query, the sponsor starting a bulk export
            continue
        status = client.post(f"/api/v1/{prefix}/", {}, content_type="application/json").status_code
        if status not in (403, 405):
            wrong.append(f"POST /api/v1/{prefix}/ -> {status}")
    assert not wrong, wrong
