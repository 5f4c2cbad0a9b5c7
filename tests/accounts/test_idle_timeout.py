"""A session idle longer than SESSION_IDLE_TIMEOUT_MINUTES is logged out and sent to the login page."""

from __future__ import annotations

import time

import pytest

from accounts.middleware import LAST_ACTIVITY_KEY

pytestmark = pytest.mark.django_db


def idle_for(client, minutes: float) -> None:
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - minutes * 60
    session.save()


def test_after_the_idle_timeout_the_user_is_logged_out_with_a_message(client, coordinator):
    client.force_login(coordinator)
    assert client.get("/").status_code == 200
    idle_for(client, 31)
    response = client.get("/participants/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=%2Fparticipants%2F"
    page = client.get(response["Location"]).content.decode()
    assert "logged out after 30 minutes without activity" in page
    assert client.get("/").status_code == 302  # no longer logged in


def test_activity_within_the_timeout_keeps_the_session(client, coordinator):
    client.force_login(coordinator)
    client.get("/")
    idle_for(client, 29)
    assert client.get("/participants/").status_code == 200
    assert time.time() - client.session[LAST_ACTIVITY_KEY] < 5  # the request renewed it


def test_the_timeout_is_a_setting(client, coordinator, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 5
    client.force_login(coordinator)
    client.get("/")
    idle_for(client, 6)
    assert client.get("/").status_code == 302


def test_htmx_requests_are_sent_to_the_login_page_as_a_whole(client, coordinator):
    client.force_login(coordinator)
    client.get("/")
    idle_for(client, 31)
    response = client.get("/participants/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith("/accounts/login/")
