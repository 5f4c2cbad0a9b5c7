"""Lockout per account: whatever spelling reaches the account (NFKC look-alikes, padding) counts and is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import PASSWORD
from trial.models import LoginFailure

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
FULL_WIDTH_CARLA = "ｃａｒｌａ"  # NFKC → "carla"


def fail(client, username: str, times: int = 5) -> None:
    for _ in range(times):
        assert client.post(LOGIN, {"username": username, "password": "wrong"}).status_code == 200


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_a_locked_account_is_refused_under_a_full_width_look_alike(client, coordinator):
    fail(client, "carla")
    response = client.post(LOGIN, {"username": FULL_WIDTH_CARLA, "password": PASSWORD})
    assert "locked" in response.content.decode()
    assert not logged_in(client)


def test_failures_under_other_spellings_count_for_the_account(client, coordinator):
    for spelling in (FULL_WIDTH_CARLA, " carla ", "ｃａｒｌａ ", "CARLA", "carla"):
        fail(client, spelling, times=1)
    assert set(LoginFailure.objects.values_list("username", flat=True)) == {"carla"}
    response = client.post(LOGIN, {"username": "carla", "password": PASSWORD})
    assert "locked" in response.content.decode()
    assert not logged_in(client)


def test_unknown_names_are_counted_under_the_normalised_text(client, db):
    fail(client, "ｇｈｏｓｔ", times=2)
    assert list(LoginFailure.objects.values_list("username", flat=True)) == ["ghost", "ghost"]


def test_the_lock_message_says_until_when_in_utc(client, coordinator):
    fail(client, "carla")
    first = LoginFailure.objects.order_by("at").first().at
    response = client.post(LOGIN, {"username": "carla", "password": PASSWORD})
    expected = (first + dt.timedelta(minutes=15)).astimezone(dt.UTC).strftime("%H:%M")
    assert f"locked after repeated failed logins until {expected} UTC" in response.content.decode()


def test_a_successful_login_starts_the_count_again_and_keeps_the_rows(client, coordinator):
    fail(client, "carla", times=4)
    assert client.post(LOGIN, {"username": "carla", "password": PASSWORD}).status_code == 302
    client.logout()
    fail(client, "carla", times=1)
    assert LoginFailure.objects.filter(username="carla").count() == 5  # kept for the record
    assert client.post(LOGIN, {"username": "carla", "password": PASSWORD}).status_code == 302
