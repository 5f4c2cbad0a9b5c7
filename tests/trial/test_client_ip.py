"""X-Forwarded-For is believed only from the configured trusted proxies (TRUSTED_PROXIES)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings

from exports.permissions import TokenRateThrottle
from tests import factories
from trial.client_ip import client_ip
from trial.models import AuditEntry


def _ip(remote: str, forwarded: str | None = None) -> str | None:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


@override_settings(TRUSTED_PROXIES=[])
def test_without_trusted_proxies_a_forged_header_is_ignored():
    assert _ip("198.51.100.7", "10.9.9.9") == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "2001:db8::1"])
def test_behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client():
    assert (
        _ip("10.0.0.2", "6.6.6.6, 203.0.113.5, 10.0.0.3") == "203.0.113.5"
    )  # 6.6.6.6 was forged by the client
    assert _ip("2001:db8::1", "203.0.113.5") == "203.0.113.5"
    assert _ip("198.51.100.7", "203.0.113.5") == "198.51.100.7"  # not from a proxy: header ignored
    assert _ip("10.0.0.2", "10.0.0.3") == "10.0.0.2"  # only proxies: the nearest one
    assert _ip("10.0.0.2", "not-an-ip, 203.0.113.5") == "203.0.113.5"
    assert _ip("10.0.0.2", "203.0.113.5, not-an-ip") == "10.0.0.2"  # garbage nearest us: trust nothing
    assert _ip("10.0.0.2") == "10.0.0.2"


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=["10.0.0.1"])
def test_the_audit_trail_records_the_believed_address(client, coordinator):
    client.post(
        "/accounts/login/",
        {"username": "carla", "password": factories.PASSWORD},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
    )
    client.post("/accounts/logout/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5")
    login = AuditEntry.objects.get(action="login")
    logout = AuditEntry.objects.get(action="logout")
    assert (login.ip_address, logout.ip_address) == ("198.51.100.7", "203.0.113.5")


def test_a_bad_trusted_proxies_setting_stops_start_up():
    env = {**os.environ, "TRUSTED_PROXIES": "10.0.0.0/8,not-a-net"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0 and "TRUSTED_PROXIES: " in result.stderr and "not-a-net" in result.stderr


@override_settings(TRUSTED_PROXIES=[])
def test_the_api_throttle_identifies_anonymous_callers_by_the_same_rule():
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert TokenRateThrottle().get_ident(request) == "198.51.100.7"
