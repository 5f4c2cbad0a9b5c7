"""The token throttle counts in the shared cache (Redis when REDIS_URL is set): another process's requests
count against the same token here. Without REDIS_URL (the demo) the cache is in-process (locmem)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from exports.permissions import TokenRateThrottle
from tests.exports.helpers import issue, token_client

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SPEND = """
import django
django.setup()
from exports.permissions import TokenRateThrottle
from trial.models import ApiToken

class Request:
    auth = ApiToken(pk={pk})
    user = None
    META = {{}}

print([TokenRateThrottle().allow_request(Request(), None) for _ in range(3)])
"""


def _run(code: str, **env: str) -> str:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_another_process_spends_the_same_token_budget(monkeypatch, data_manager, sponsor):
    assert "Redis" in settings.CACHES["default"]["BACKEND"]
    monkeypatch.setenv("API_TOKEN_THROTTLE", "3/hour")
    token, key = issue(data_manager, sponsor)
    cache.delete(
        TokenRateThrottle.cache_format % {"scope": TokenRateThrottle.scope, "ident": f"token-{token.pk}"}
    )
    assert _run(SPEND.format(pk=token.pk), API_TOKEN_THROTTLE="3/hour") == "[True, True, True]"
    refused = token_client(key).get("/api/v1/export/consents/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_without_redis_the_cache_is_local_memory():
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    assert _run(f"import django; django.setup(); {code}", REDIS_URL="") == (
        "django.core.cache.backends.locmem.LocMemCache"
    )
