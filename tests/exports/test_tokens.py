"""Token scope and permission matrix: who sees which sites, who may write, issue/revoke, throttling."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests import factories
from tests.exports.helpers import issue, token_client
from trial.api_auth import hash_key
from trial.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")


@pytest.fixture
def two_sites(coordinator, site_nl, other_coordinator, site_be):
    return factories.enrol(coordinator, site_nl), factories.enrol(other_coordinator, site_be)


# role fixture -> (sites seen, token forced read-only)
MATRIX = {
    "coordinator": ({"NL01"}, False),
    "investigator": ({"NL01"}, False),
    "radiologist": ({"NL01"}, False),
    "pathologist": ({"NL01"}, False),
    "other_coordinator": ({"BE01"}, False),
    "monitor": ({"NL01"}, True),
    "data_manager": ({"NL01", "BE01"}, False),
    "sponsor": ({"NL01", "BE01"}, True),
}


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_token_scope_and_write_matrix(role, request, two_sites, data_manager):
    user = request.getfixturevalue(role)
    sites, forced_read_only = MATRIX[role]
    ro_token, ro_key = issue(data_manager, user, read_only=True)
    rw_token, rw_key = issue(data_manager, user, read_only=False)
    assert ro_token.read_only is True
    assert rw_token.read_only is forced_read_only
    for key in (ro_key, rw_key):
        client = token_client(key)
        body = client.get("/api/v1/export/participants/").json()
        assert {p["site"] for p in body["results"]} == sites
        visits = client.get("/api/v1/export/visits/", {"page_size": 1000}).json()["results"]
        assert {v["site"] for v in visits} == sites
        seen_sites = {s["code"] for s in client.get("/api/v1/sites/").json()["results"]}
        assert seen_sites == sites
    # Every unsafe method: read-only tokens get 403; write-capable tokens reach the (read-only) endpoint: 405.
    for method in UNSAFE:
        for url in ("/api/v1/export/participants/", f"/api/v1/export/participants/{two_sites[0].pk}/"):
            assert getattr(token_client(ro_key), method)(url, {}, format="json").status_code == 403, (
                method,
                url,
            )
            expected = 403 if forced_read_only else 405
            assert getattr(token_client(rw_key), method)(url, {}, format="json").status_code == expected


def test_another_sites_token_gets_404_on_detail(two_sites, other_coordinator, data_manager):
    nl, be = two_sites
    _t, key = issue(data_manager, other_coordinator)
    client = token_client(key)
    assert client.get(f"/api/v1/export/participants/{nl.pk}/").status_code == 404
    assert client.get(f"/api/v1/export/participants/{be.pk}/").status_code == 200


def test_revoked_and_unknown_tokens_are_refused(two_sites, sponsor, data_manager):
    token, key = issue(data_manager, sponsor)
    client = token_client(key)
    assert client.get("/api/v1/export/consents/").status_code == 200
    dm_key = issue(data_manager, data_manager, read_only=False)[1]
    revoked = token_client(dm_key).post(
        f"/api/v1/export/tokens/{token.pk}/revoke/", {"reason": "left the study"}, format="json"
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/v1/export/consents/").status_code == 401
    assert token_client("not-a-token").get("/api/v1/export/consents/").status_code == 401
    assert APIClient().get("/api/v1/export/consents/").status_code in (401, 403)
    actions = list(
        AuditEntry.objects.filter(model="apitoken", object_id=str(token.pk)).values_list("action", flat=True)
    )
    assert actions == ["create", "token_use", "void"]  # the one accepted request, audited once


def test_only_data_managers_issue_tokens_and_keys_are_stored_hashed(coordinator, sponsor, data_manager):
    dm_key = issue(data_manager, data_manager, read_only=False)[1]
    created = token_client(dm_key).post(
        "/api/v1/export/tokens/", {"username": "sam", "read_only": False}, format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["read_only"] is True  # sponsor tokens are always read-only
    stored = ApiToken.objects.get(pk=body["id"])
    assert stored.key_hash == hash_key(body["key"]) and body["key"] not in stored.key_hash
    # a read-only token of a data manager cannot issue; other roles cannot issue at all
    ro_key = issue(data_manager, data_manager, read_only=True)[1]
    assert (
        token_client(ro_key).post("/api/v1/export/tokens/", {"username": "sam"}, format="json").status_code
        == 403
    )
    co_key = issue(data_manager, coordinator, read_only=False)[1]
    assert (
        token_client(co_key).post("/api/v1/export/tokens/", {"username": "sam"}, format="json").status_code
        == 403
    )
    # a coordinator lists only their own tokens; a data manager all of them
    mine = token_client(co_key).get("/api/v1/export/tokens/").json()["results"]
    assert {t["user"] for t in mine} == {"carla"}
    assert (
        len(token_client(dm_key).get("/api/v1/export/tokens/").json()["results"]) == ApiToken.objects.count()
    )
    bad = token_client(dm_key).post("/api/v1/export/tokens/", {"username": "nobody"}, format="json")
    assert bad.status_code == 400 and "username" in bad.json()["errors"]


def test_throttled_per_token(monkeypatch, sponsor, monitor, data_manager, site_nl):
    cache.clear()
    monkeypatch.setenv("API_TOKEN_THROTTLE", "3/minute")
    a = token_client(issue(data_manager, sponsor)[1])
    b = token_client(issue(data_manager, monitor)[1])
    assert [a.get("/api/v1/export/consents/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert b.get("/api/v1/export/consents/").status_code == 200
    cache.clear()


def test_token_page_issue_and_revoke(client, data_manager, sponsor, coordinator):
    client.force_login(coordinator)
    assert client.get("/exports/tokens/").status_code == 403
    client.force_login(data_manager)
    page = client.post(
        "/exports/tokens/",
        {
            "username": "sam",
            "label": "sponsor feed",
            "read_only": "",
            "expires_in_days": 90,
            "scopes": ["export"],
        },
    )
    assert page.status_code == 200
    token = ApiToken.objects.get(label="sponsor feed")
    assert token.read_only is True
    key = page.context["issued"]["key"]
    assert key in page.content.decode() and token.key_hash == hash_key(key)
    assert client.post("/exports/tokens/", {"username": "nobody"}).status_code == 400
    client.post(f"/exports/tokens/{token.pk}/revoke/", {"reason": "rotated"})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_client(key).get("/api/v1/export/consents/").status_code == 401


def test_issue_and_revoke_commands(data_manager, sponsor, coordinator):
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_token", "sam", "--by", "dana", "--label", "cli", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = ApiToken.objects.get(key_hash=hash_key(key))
    assert "read-only" in err.getvalue()
    call_command("revoke_token", str(token.pk), "--by", "dana", "--reason", "done", stdout=out)
    token.refresh_from_db()
    assert token.revoked_at is not None
    with pytest.raises(CommandError, match="data manager"):
        call_command("issue_token", "sam", "--by", "carla", stdout=out, stderr=err)
    with pytest.raises(CommandError, match="already revoked"):
        call_command("revoke_token", str(token.pk), "--by", "dana", "--reason", "again", stdout=out)
    with pytest.raises(CommandError, match="matches 0 tokens"):
        call_command("revoke_token", "zzzz", "--by", "dana", "--reason", "x", stdout=out)
