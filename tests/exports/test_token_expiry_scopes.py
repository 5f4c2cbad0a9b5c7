"""Every API token expires and calls only its scopes: export (/api/v1/export/) and capture (the rest)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from exports import services
from tests import factories
from tests.exports.helpers import token_client
from trial.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db

EXPORT_URL = "/api/v1/export/participants/"
CAPTURE_URL = "/api/v1/adverse-events/"


def _issue(data_manager, user, **kwargs):
    return services.token_issue(ctx=factories.ctx_for(data_manager), username=user.username, **kwargs)


def test_a_token_lives_90_days_by_default_and_its_expiry_and_scopes_are_audited(data_manager, sponsor):
    before = timezone.now()
    token, _key = _issue(data_manager, sponsor)
    assert dt.timedelta(days=90) <= token.expires_at - before < dt.timedelta(days=90, minutes=1)
    assert token.scopes == ["export", "capture"]
    entry = AuditEntry.objects.get(model="apitoken", object_id=str(token.pk))
    assert entry.changes["expires_at"] == [None, token.expires_at.isoformat()]
    assert entry.changes["scopes"] == [None, ["export", "capture"]]


def test_an_expired_token_is_refused_with_401_saying_so(data_manager, sponsor):
    token, key = _issue(data_manager, sponsor, expires_in_days=1)
    client = token_client(key)
    assert client.get(EXPORT_URL).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(EXPORT_URL)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert bearer.get(EXPORT_URL).status_code == 401


def test_a_token_calls_only_its_scopes(data_manager, coordinator):
    _token, export_key = _issue(data_manager, coordinator, scopes=["export"])
    _token, capture_key = _issue(data_manager, coordinator, scopes=["capture"])
    exports_only, capture_only = token_client(export_key), token_client(capture_key)
    assert exports_only.get(EXPORT_URL).status_code == 200
    refused = exports_only.get(CAPTURE_URL)
    assert refused.status_code == 403 and "capture" in refused.json()["detail"]
    assert capture_only.get(CAPTURE_URL).status_code == 200
    assert capture_only.get("/api/v1/export/odm/").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": 366}, "expires_in_days"),
        ({"scopes": ["everything"]}, "scopes"),
        ({"scopes": []}, "scopes"),
    ],
)
def test_bad_expiry_or_scopes_are_400_naming_the_field(data_manager, sponsor, body, field):
    _token, key = _issue(data_manager, data_manager, read_only=False)
    response = token_client(key).post(
        "/api/v1/export/tokens/", {"username": sponsor.username, **body}, format="json"
    )
    assert response.status_code == 400 and field in response.json()["errors"], response.json()
    assert not ApiToken.objects.filter(user=sponsor).exists()


def test_the_api_issues_a_scoped_short_lived_token(data_manager, sponsor):
    _token, key = _issue(data_manager, data_manager, read_only=False)
    response = token_client(key).post(
        "/api/v1/export/tokens/",
        {"username": sponsor.username, "expires_in_days": 7, "scopes": ["export"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["scopes"] == ["export"] and body["read_only"] is True
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(days=6, hours=23) < expires - timezone.now() <= dt.timedelta(days=7)


def test_the_tokens_page_issues_with_expiry_and_scopes_and_shows_them(client, data_manager, sponsor):
    client.force_login(data_manager)
    page = client.post(
        "/exports/tokens/",
        {"username": sponsor.username, "label": "sync", "expires_in_days": 30, "scopes": ["export"]},
    )
    assert page.status_code == 200
    token = ApiToken.objects.get(user=sponsor)
    assert token.scopes == ["export"] and (token.expires_at - timezone.now()).days == 29
    html = page.content.decode()
    assert "Expires (UTC)" in html and token.expires_at.strftime("%Y-%m-%d") in html
    bad = client.post("/exports/tokens/", {"username": sponsor.username, "expires_in_days": 400})
    assert bad.status_code == 400 and "Ensure this value is less than or equal to 365" in bad.content.decode()


def test_issue_token_command_takes_expiry_and_scopes(data_manager, sponsor):
    err = io.StringIO()
    call_command(
        "issue_token",
        sponsor.username,
        "--by",
        data_manager.username,
        "--expires-in-days",
        "14",
        "--scope",
        "export",
        stdout=io.StringIO(),
        stderr=err,
    )
    assert "scopes export, expires" in err.getvalue()
    assert ApiToken.objects.get(user=sponsor).scopes == ["export"]
    with pytest.raises(CommandError, match="1 to 365 days"):
        call_command(
            "issue_token",
            sponsor.username,
            "--by",
            data_manager.username,
            "--expires-in-days",
            "0",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
