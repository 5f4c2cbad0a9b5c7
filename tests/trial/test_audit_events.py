"""Security events in the audit trail: logins, account and permission changes, token use, exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from exports.models import ExportJob
from tests import factories
from tests.exports.helpers import issue, token_client
from trial.models import AuditEntry, LoginFailure, Membership, Role

pytestmark = pytest.mark.django_db


def _entries(action: str, **filters):
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("seq", "id"))


def _login(client, username: str, password: str = factories.PASSWORD):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_REQUEST_ID="rid-login-1",
    )


def test_login_logout_and_failed_login_are_audited_and_failures_are_kept(client, coordinator):
    _login(client, "carla", "wrong-password")
    _login(client, "nobody", "wrong-password")
    (failed, unknown) = _entries("login_failed")
    assert failed.object_id == str(coordinator.pk) and failed.object_repr == "carla"
    assert failed.user is None and failed.ip_address == "198.51.100.7" and failed.request_id == "rid-login-1"
    assert unknown.object_id == "" and unknown.object_repr == "nobody"

    assert _login(client, "carla").status_code == 302
    (login,) = _entries("login")
    assert (
        login.user == coordinator and login.ip_address == "198.51.100.7" and login.request_id == "rid-login-1"
    )
    assert login.at.utcoffset().total_seconds() == 0
    # The failed attempt stays on record after the successful login (it only stops counting for the lock).
    assert LoginFailure.objects.filter(username="carla").count() == 1

    client.post("/accounts/logout/", REMOTE_ADDR="198.51.100.7", HTTP_X_REQUEST_ID="rid-logout")
    (logout,) = _entries("logout")
    assert logout.user == coordinator and logout.request_id == "rid-logout"


def test_a_refused_login_on_a_locked_account_is_audited(client, coordinator):
    for _ in range(settings.LOGIN_LOCKOUT_FAILURES):
        _login(client, "carla", "wrong-password")
    _login(client, "carla")
    refused = _entries("login_failed")[-1]
    assert refused.reason == "login refused: account locked" and refused.object_id == str(coordinator.pk)


def test_user_flag_grants_and_revocations_are_audited():
    user = factories.make_user("newbie")
    created = _entries("account", model="user", object_id=str(user.pk))
    assert created[-1].changes["is_active"] == [None, True] and created[-1].user is None  # system
    user.is_staff = True
    user.is_superuser = True
    user.save()
    user.is_active = False
    user.save()
    grant, revoke = _entries("account", model="user", object_id=str(user.pk))[-2:]
    assert grant.changes == {"is_staff": [False, True], "is_superuser": [False, True]}
    assert revoke.changes == {"is_active": [True, False]}
    user.first_name = "Renamed"
    user.save()  # not a privilege change: no entry
    assert len(_entries("account", model="user", object_id=str(user.pk))) == 3


def test_group_and_permission_changes_are_audited():
    user = factories.make_user("newbie")
    group = Group.objects.create(name="Editors")
    perm = Permission.objects.get(codename="change_membership")
    group.permissions.add(perm)
    user.groups.add(group)
    user.user_permissions.add(perm)
    user.groups.clear()
    group_entries = _entries("account", model="group", object_id=str(group.pk))
    assert list(group_entries[0].changes) == ["permissions added"]
    user_changes = [e.changes for e in _entries("account", model="user", object_id=str(user.pk))[1:]]
    assert user_changes == [
        {"groups added": [None, ["Editors"]]},
        {"permissions added": [None, [str(perm)]]},
        {"groups removed": [["Editors"], None]},
    ]


def test_admin_changes_of_accounts_and_memberships_are_audited_with_the_admin_as_actor(client, site_nl):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", factories.PASSWORD)
    user = factories.make_user("newbie")
    client.force_login(admin)
    response = client.post(
        "/admin/trial/membership/add/",
        {"user": user.pk, "site": site_nl.pk, "role": Role.MONITOR, "active": "on"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302, response.content[:500]
    membership = Membership.objects.get(user=user)
    (created,) = _entries("account", model="membership", object_id=str(membership.pk))
    assert created.user == admin and created.source == "admin" and created.ip_address == "203.0.113.9"
    assert created.changes["role"] == [None, Role.MONITOR] and created.site_id == site_nl.pk

    response = client.post(
        f"/admin/auth/user/{user.pk}/change/",
        {
            "username": "newbie",
            "email": user.email,
            "is_active": "on",
            "is_staff": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302, response.content[:2000]
    staff = _entries("account", model="user", object_id=str(user.pk))[-1]
    assert staff.user == admin and staff.source == "admin" and staff.changes == {"is_staff": [False, True]}


def test_token_use_csv_export_bulk_start_and_download_are_audited(client, participant, data_manager, sponsor):
    token, key = issue(data_manager, sponsor)
    api = token_client(key)
    assert api.get("/api/v1/export/participants/", REMOTE_ADDR="192.0.2.4").status_code == 200
    csv = api.get("/api/v1/export/participants/", {"format": "csv", "site": "NL01"}, REMOTE_ADDR="192.0.2.4")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    uses = _entries("token_use", object_id=str(token.pk))
    assert len(uses) == 2 and all(u.user == sponsor and u.source == "api" for u in uses)
    assert uses[0].changes["request"][1] == "GET /api/v1/export/participants/"
    (exported,) = _entries("export", model="participants")
    assert exported.user == sponsor and exported.ip_address == "192.0.2.4"
    assert exported.changes == {"query": [None, {"format": "csv", "site": "NL01"}]}

    client.force_login(data_manager)
    client.post("/exports/start/")
    job = ExportJob.objects.get()
    (started,) = _entries("export", model="exportjob")
    assert started.object_id == str(job.pk) and started.user == data_manager

    path = Path(settings.MEDIA_ROOT) / "exports" / f"audit-test-{job.pk}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.DONE, file=str(path.relative_to(settings.MEDIA_ROOT))
    )
    try:
        assert client.get(f"/exports/jobs/{job.pk}/download/").status_code == 200
    finally:
        path.unlink()
    (downloaded,) = _entries("download", object_id=str(job.pk))
    assert downloaded.user == data_manager and downloaded.reason == "bulk export downloaded"
