from __future__ import annotations

import logging

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db


def test_login_is_required_everywhere_but_login_and_health(client):
    assert client.get("/health/").json() == {"status": "ok"}
    assert client.get("/accounts/login/").status_code == 200
    for url in ("/", "/participants/", "/participants/new/", "/safety/", "/imaging/worklist/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    assert client.get("/api/v1/participants/").status_code in (401, 403)


def test_weak_passwords_are_refused():
    with pytest.raises(ValidationError):
        validate_password("password")
    with pytest.raises(ValidationError):
        validate_password("12345678901")
    validate_password("violet-tracer-meadow-81")


def test_an_account_locks_after_five_failed_logins(client, coordinator):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "carla", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "carla", "password": factories.PASSWORD})
    assert response.status_code == 200
    assert "locked" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_successful_login_reaches_the_dashboard(client, coordinator, participant):
    response = client.post(
        "/accounts/login/", {"username": "carla", "password": factories.PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert "NL01 · Amsterdam UMC" in response.content.decode()


def test_a_server_error_shows_no_traceback_and_quotes_the_request_id(settings, coordinator, caplog):
    settings.ROOT_URLCONF = "tests.trial.boom_urls"
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(coordinator)
    with caplog.at_level(logging.ERROR):
        response = client.get("/boom/", HTTP_X_REQUEST_ID="req-abc-123")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Traceback" not in body and "secret internal detail" not in body
    assert "req-abc-123" in body
    assert response["X-Request-ID"] == "req-abc-123"


def test_log_lines_carry_the_request_id(client, coordinator, caplog):
    from trial.logging import KeyValueFormatter, RequestIdFilter

    client.force_login(coordinator)
    with caplog.at_level(logging.INFO, logger="cd8pet.request"):
        client.get("/participants/", HTTP_X_REQUEST_ID="trace-77")
    record = next(r for r in caplog.records if r.name == "cd8pet.request")
    RequestIdFilter().filter(record)
    line = KeyValueFormatter().format(record)
    assert "rid=trace-77" in line and "path=/participants/" in line and "status=200" in line


def test_a_coordinator_sees_only_their_sites_participants(
    client, coordinator, other_coordinator, site_be, participant
):
    other = factories.enrol(other_coordinator, site_be)
    client.force_login(coordinator)
    body = client.get("/participants/").content.decode()
    assert participant.study_id in body and other.study_id not in body
    client.force_login(other_coordinator)
    assert client.get(f"/participants/{participant.pk}/").status_code == 404


def test_data_managers_and_the_sponsor_see_every_site(
    client, data_manager, sponsor, other_coordinator, site_be, participant
):
    other = factories.enrol(other_coordinator, site_be)
    for user in (data_manager, sponsor):
        client.force_login(user)
        body = client.get("/participants/").content.decode()
        assert participant.study_id in body and other.study_id in body


def test_a_user_can_hold_different_roles_at_different_sites(client, site_nl, site_be, participant):
    from trial import access
    from trial.models import Role

    user = factories.make_user("hana", (site_nl, Role.RADIOLOGIST), (site_be, Role.SITE_COORDINATOR))
    assert access.can(user, "imaging", site_nl) and not access.can(user, "imaging", site_be)
    assert access.can(user, "enrolment", site_be) and not access.can(user, "enrolment", site_nl)
    client.force_login(user)
    assert client.get(f"/participants/{participant.pk}/").status_code == 200
    assert client.post(f"/participants/{participant.pk}/tracer-doses/new/", {}).status_code == 403


def test_the_enrolment_form_shows_field_errors_not_a_500(client, coordinator):
    client.force_login(coordinator)
    response = client.post("/participants/new/", {"year_of_birth": "abc"})
    assert response.status_code == 400
    assert "Enter a whole number" in response.content.decode()


def test_the_api_schema_is_valid_and_the_docs_work_offline(client, coordinator):
    client.force_login(coordinator)
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/participants/" in paths and "/api/v1/tracer-doses/" in paths
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs
    assert (
        client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
    )


def test_api_reads_sites_participants_visits_and_doses(client, coordinator, participant):
    factories.record_tracer_dose(coordinator, participant)
    client.force_login(coordinator)
    body = client.get("/api/v1/participants/").json()
    items = body["results"] if isinstance(body, dict) else body
    assert items[0]["study_id"] == participant.study_id
    assert [s["to_status"] for s in items[0]["status_history"]] == ["screening", "enrolled"]
    doses = client.get("/api/v1/tracer-doses/").json()
    doses = doses["results"] if isinstance(doses, dict) else doses
    assert doses[0]["net_injected_mbq"] == "36.50"


def test_the_openapi_schema_validates_with_no_warnings(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    assert "/api/v1/participants/{id}/" in schema and "/api/v1/adverse-events/" in schema


def test_a_tracer_dose_entered_in_the_browser_is_read_in_the_sites_time_zone(
    client, coordinator, participant
):
    import datetime as dt

    from trial.models import TracerDose

    visit = factories.visit(participant, "BL_TRACER")
    when = dt.datetime.combine(visit.planned_date, dt.time(10, 30))
    client.force_login(coordinator)
    response = client.post(
        f"/participants/{participant.pk}/tracer-doses/new/",
        {
            "visit": visit.pk,
            "administered_at": when.strftime("%Y-%m-%dT%H:%M"),
            "activity_before_mbq": "37.10",
            "residual_mbq": "0.60",
            "mass_dose_mg": "10",
            "batch": "ZR-1",
        },
    )
    assert response.status_code == 302
    dose = TracerDose.objects.get()
    local = when.replace(tzinfo=__import__("zoneinfo").ZoneInfo("Europe/Amsterdam"))
    assert dose.administered_at == local
    assert dose.administered_at.astimezone(dt.UTC).hour != 10


def test_a_dose_form_refusal_is_shown_on_the_form(client, coordinator, participant):
    visit = factories.visit(participant, "BL_TRACER")
    client.force_login(coordinator)
    response = client.post(
        f"/participants/{participant.pk}/tracer-doses/new/",
        {
            "visit": visit.pk,
            "administered_at": f"{visit.planned_date}T09:00",
            "activity_before_mbq": "1.0",
            "residual_mbq": "2.0",
            "mass_dose_mg": "10",
            "batch": "ZR-1",
        },
    )
    assert response.status_code == 400
    assert "residual activity must be less" in response.content.decode()


def test_the_lock_ends_on_time_and_attempts_while_locked_do_not_extend_it(client, coordinator):
    import datetime as dt

    from django.utils import timezone

    from trial.models import LoginFailure

    for _ in range(6):
        client.post("/accounts/login/", {"username": "carla", "password": "wrong"})
    assert LoginFailure.objects.filter(username="carla").count() == 5
    LoginFailure.objects.update(at=timezone.now() - dt.timedelta(minutes=16))
    client.post("/accounts/login/", {"username": "carla", "password": factories.PASSWORD})
    assert "_auth_user_id" in client.session


def test_the_dashboard_counts_visits_past_their_window_as_overdue(coordinator, participant):
    from trial import selectors
    from trial.models import VisitStatus

    today = timezone.localdate()
    planned = participant.visits.filter(status=VisitStatus.PLANNED)
    expected = {v.pk for v in planned if v.window_end < today}
    assert expected, "the fixture participant has visits whose window has passed"
    (row,) = selectors.dashboard_summary(user=coordinator)
    assert row["overdue_count"] == len(expected)
    assert {v.pk for v in row["overdue"]} <= expected
