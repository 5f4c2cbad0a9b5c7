"""TOTP second factor: enrolment for signing and access-managing roles, the verify step after the password,
wrong codes counting towards the lockout, OTP_REQUIRED_ROLES forcing enrolment; API tokens unaffected."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.exports.helpers import issue, token_client
from tests.factories import PASSWORD
from trial.models import AuditAction, AuditEntry, LoginFailure

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
VERIFY = "/accounts/two-factor/verify/"
ENROL = "/accounts/two-factor/"


def code(device: TOTPDevice, offset: int = 0) -> str:
    """The device's current code (offset in steps), computed from its key."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset):06d}"


def wrong_code(device: TOTPDevice) -> str:
    valid = {code(device, k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


@pytest.fixture
def device(investigator):
    return TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_with_a_device_login_needs_a_valid_code(client, investigator, device):
    response = client.post(LOGIN, {"username": "ivan", "password": PASSWORD, "next": "/participants/"})
    assert response.status_code == 302 and response["Location"] == VERIFY
    assert not logged_in(client)
    assert client.get("/").status_code == 302  # not in yet
    response = client.post(VERIFY, {"token": code(device)})
    assert response.status_code == 302 and response["Location"] == "/participants/"
    assert logged_in(client)
    assert client.get("/").status_code == 200


def test_a_wrong_code_is_refused_and_counts_towards_the_lockout(client, investigator, device):
    client.post(LOGIN, {"username": "ivan", "password": PASSWORD})
    response = client.post(VERIFY, {"token": wrong_code(device)})
    assert response.status_code == 400 and "not correct" in response.content.decode()
    assert not logged_in(client)
    assert LoginFailure.objects.filter(username="ivan").count() == 1
    refused = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED, object_id=str(investigator.pk))
    assert "wrong two-factor code" in refused.reason
    for _ in range(4):
        response = client.post(VERIFY, {"token": wrong_code(device)})
    assert "locked after repeated failed logins" in response.content.decode()
    response = Client().post(LOGIN, {"username": "ivan", "password": PASSWORD})
    assert "locked" in response.content.decode()


def test_the_verify_step_needs_the_password_step_first(client, investigator, device):
    response = client.post(VERIFY, {"token": code(device)})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert not logged_in(client)


def test_a_session_with_a_device_that_skipped_the_code_is_sent_back_to_login(client, investigator, device):
    client.force_login(investigator)  # e.g. a login path that knows nothing of the second factor
    response = client.get("/participants/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert not logged_in(client)


def test_enrolment_shows_the_uri_and_qr_and_a_first_code_confirms_it(client, investigator):
    client.force_login(investigator)
    page = client.get(ENROL).content.decode()
    assert "otpauth://totp/CD8-PET%20EDC%3Aivan?secret=" in page and "<svg" in page
    assert "<path" in page and "svg:rect" not in page  # prefixed elements do not draw inside HTML
    device = TOTPDevice.objects.get(user=investigator, confirmed=False)
    assert client.post(ENROL, {"token": wrong_code(device)}).status_code == 400
    device.refresh_from_db()
    device.throttling_failure_count = 0  # django-otp's own back-off after the wrong code
    device.save()
    response = client.post(ENROL, {"token": code(device)})
    assert response.status_code == 302
    assert TOTPDevice.objects.get(user=investigator).confirmed
    assert client.get("/").status_code == 200  # this session counts as verified
    assert AuditEntry.objects.filter(
        action=AuditAction.ACCOUNT, user=investigator, reason__contains="TOTP"
    ).exists()


def test_enrolment_is_for_signing_and_access_managing_roles(client, coordinator, data_manager):
    client.force_login(coordinator)
    assert client.get(ENROL).status_code == 403
    assert 'href="/accounts/two-factor/"' not in client.get("/").content.decode()
    client.force_login(data_manager)
    assert client.get(ENROL).status_code == 200
    assert 'href="/accounts/two-factor/"' in client.get("/").content.decode()


def test_by_default_nobody_is_forced_to_enrol(client, investigator):
    client.force_login(investigator)
    assert client.get("/").status_code == 200


def test_required_role_without_a_device_is_sent_to_enrolment(client, investigator, coordinator, settings):
    settings.OTP_REQUIRED_ROLES = ["investigator"]
    response = Client().post(LOGIN, {"username": "ivan", "password": PASSWORD})
    assert response.status_code == 302  # the password step works; then enrolment comes first
    client.force_login(investigator)
    response = client.get("/participants/")
    assert response.status_code == 302 and response["Location"] == f"{ENROL}?next=%2Fparticipants%2F"
    assert client.get("/api/v1/adverse-events/").status_code == 403  # session API too
    assert client.get(ENROL).status_code == 200
    other = Client()
    other.force_login(coordinator)
    assert other.get("/participants/").status_code == 200


def test_api_token_auth_is_not_affected(investigator, data_manager, settings):
    settings.OTP_REQUIRED_ROLES = ["investigator"]
    TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)
    _token, key = issue(data_manager, investigator)
    assert token_client(key).get("/api/v1/adverse-events/").status_code == 200


def test_an_unknown_role_in_otp_required_roles_fails_the_checks(settings):
    settings.OTP_REQUIRED_ROLES = ["investigators"]
    with pytest.raises(SystemCheckError, match="unknown roles: investigators"):
        call_command("check")


REMOVE = "/accounts/two-factor/remove/"


def _log_in_with_code(client, device) -> None:
    client.post(LOGIN, {"username": device.user.username, "password": PASSWORD})
    assert client.post(VERIFY, {"token": code(device)}).status_code == 302


def _remove(client, device, password=PASSWORD, token=None):
    """Remove with the next step's code: the login just used the current one, and codes are single-use."""
    return client.post(
        REMOVE, {"remove-password": password, "remove-token": token if token is not None else code(device, 1)}
    )


def test_a_user_switches_their_own_second_factor_off_with_password_and_code(client, investigator, device):
    _log_in_with_code(client, device)
    assert b"Switch it off" in client.get(ENROL).content
    refused = _remove(client, device, token=wrong_code(device))
    assert refused.status_code == 400 and "not correct" in refused.content.decode()
    assert TOTPDevice.objects.filter(user=investigator).exists()
    assert LoginFailure.objects.filter(username="ivan").count() == 1  # counted like a failed login
    assert _remove(client, device, password="not the password").status_code == 400
    # django-otp throttles a device for a second after a wrong code; let that second pass.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    response = _remove(client, device)
    assert response.status_code == 302 and response["Location"] == ENROL
    assert not TOTPDevice.objects.filter(user=investigator).exists()
    entry = AuditEntry.objects.filter(action=AuditAction.ACCOUNT, object_id=str(investigator.pk)).latest("id")
    assert entry.changes["totp_device"] == [device.persistent_id, None] and "switched off" in entry.reason


def test_a_role_that_requires_the_second_factor_cannot_switch_it_off(client, investigator, device, settings):
    settings.OTP_REQUIRED_ROLES = ["investigator"]
    _log_in_with_code(client, device)
    assert b"Switch it off" not in client.get(ENROL).content
    response = _remove(client, device)
    assert response.status_code == 400 and "requires two-factor" in response.content.decode()
    assert TOTPDevice.objects.filter(user=investigator, confirmed=True).exists()
