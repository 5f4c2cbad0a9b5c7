"""Password change (logged in) and reset by e-mail, with the project's validators, audited."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import PASSWORD
from trial.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Tracer-89Zr-uptake!"


def can_log_in(username: str, password: str) -> bool:
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302


def test_password_change_works_and_the_old_password_stops_working(client, coordinator):
    client.force_login(coordinator)
    assert client.get("/accounts/password/change/").status_code == 200
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password/change/done/"
    assert client.get("/").status_code == 200  # the session stays valid
    assert not can_log_in("carla", PASSWORD)
    assert can_log_in("carla", NEW_PASSWORD)
    entry = AuditEntry.objects.get(
        action=AuditAction.ACCOUNT, model="user", object_id=str(coordinator.pk), reason__contains="Password"
    )
    assert "password" in entry.changes and NEW_PASSWORD not in str(entry.changes)


@pytest.mark.parametrize(
    "new, message",
    [("short1!", "too short"), ("1234567890123", "entirely numeric"), ("password1234", "too common")],
)
def test_password_change_applies_the_validators(client, coordinator, new, message):
    client.force_login(coordinator)
    response = client.post(
        "/accounts/password/change/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert can_log_in("carla", PASSWORD)


def test_password_reset_by_e_mail_sets_a_new_password(client, coordinator):
    response = client.post("/accounts/password/reset/", {"email": "carla@example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["carla@example.org"]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]  # Django swaps the token for a session-held one
    assert client.get(form_url).status_code == 200
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/reset/done/"
    assert can_log_in("carla", NEW_PASSWORD) and not can_log_in("carla", PASSWORD)
    assert AuditEntry.objects.filter(
        action=AuditAction.ACCOUNT, user=coordinator, reason__contains="reset"
    ).exists()
    assert client.get(link, follow=True).context["validlink"] is False  # the link works once


def test_the_reset_answer_for_an_unknown_e_mail_is_the_same_as_for_a_known_one(coordinator):
    known = Client().post("/accounts/password/reset/", {"email": "carla@example.org"})
    unknown = Client().post("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 1
    done = Client().get(known["Location"])
    assert done.status_code == 200 and "If an account uses that address" in done.content.decode()


def test_login_page_and_user_menu_link_to_the_password_pages(client, coordinator):
    assert 'href="/accounts/password/reset/"' in client.get("/accounts/login/").content.decode()
    client.force_login(coordinator)
    assert 'href="/accounts/password/change/"' in client.get("/").content.decode()
