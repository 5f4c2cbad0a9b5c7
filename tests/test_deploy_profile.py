"""The production profile (DJANGO_PROFILE=production): `check --deploy` is clean, it refuses to start without
its keys, and every profile sends the CSP and `Cache-Control: no-store` on clinical pages and the API."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent


def _production_env(**overrides: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_PROFILE": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DICOM_PSEUDONYM_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "trial.example.org",
        "DEBUG": "false",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by tests/conftest.py for the test process only
    for name, value in overrides.items():  # None removes the variable
        env.pop(name, None) if value is None else env.__setitem__(name, value)
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _settings(env: dict[str, str], code: str) -> dict:
    return json.loads(_manage(env, "shell", "-c", code).stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_under_the_production_profile():
    result = _manage(_production_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_cookies_hsts_redirect_and_proxy_header_only_when_configured():
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k, None) for k in "
        "['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS',"
        " 'SECURE_HSTS_PRELOAD', 'SECURE_SSL_REDIRECT', 'SECURE_PROXY_SSL_HEADER', 'X_FRAME_OPTIONS',"
        " 'PASSWORD_HASHERS']}))"
    )
    plain = _settings(_production_env(), code)
    assert plain["SESSION_COOKIE_SECURE"] and plain["CSRF_COOKIE_SECURE"] and plain["SECURE_SSL_REDIRECT"]
    assert plain["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert plain["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and plain["SECURE_HSTS_PRELOAD"]
    assert plain["SECURE_PROXY_SSL_HEADER"] is None and plain["X_FRAME_OPTIONS"] == "DENY"
    # Django's PBKDF2 (the tests hash their fixture people with MD5 for speed: tests/conftest.py).
    assert plain["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    proxied = _production_env(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https")
    assert _settings(proxied, code)["SECURE_PROXY_SSL_HEADER"] == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set in the production profile"),
        ({"DICOM_PSEUDONYM_KEY": None}, "DICOM_PSEUDONYM_KEY must be set, and differ from SECRET_KEY"),
        (
            {"SECRET_KEY": "k" * 60, "DICOM_PSEUDONYM_KEY": "k" * 60},
            "DICOM_PSEUDONYM_KEY must be set, and differ",
        ),
    ],
    ids=["no-secret-key", "no-pseudonym-key", "pseudonym-key-is-the-secret-key"],
)
def test_production_refuses_to_start_without_its_keys(overrides, message):
    result = _manage(_production_env(**overrides), "check")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ") and message in last


def test_the_dicom_pseudonyms_are_keyed_by_their_own_key_not_the_secret_key():
    from imaging.services import uid_key

    class P:
        pk = 7

    with override_settings(DICOM_PSEUDONYM_KEY="pseudonym-key-a"):
        a = uid_key(P())
        with override_settings(SECRET_KEY="another-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"):
            assert uid_key(P()) == a  # rotating the session key keeps every pseudonym
    with override_settings(DICOM_PSEUDONYM_KEY="pseudonym-key-b"):
        assert uid_key(P()) != a


@pytest.mark.django_db
def test_clinical_pages_and_api_responses_are_no_store_with_the_csp(client, coordinator, participant):
    client.force_login(coordinator)
    for url in ["/", f"/participants/{participant.pk}/", "/api/v1/participants/", "/api/v1/docs/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        csp = response["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        )
        assert "frame-ancestors 'none'" in csp and response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
    static = client.get("/static/js/htmx.min.js")
    assert static.status_code == 200 and "no-store" not in static.get("Cache-Control", "")


@pytest.mark.django_db
def test_the_api_docs_have_no_inline_script(client, coordinator):
    client.force_login(coordinator)
    html = client.get("/api/v1/docs/").content.decode()
    assert "<script>" not in html and "?script=" in html
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
