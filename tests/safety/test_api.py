"""/api/v1/adverse-events/: coordinators list, create and update with the form's rules; the sponsor reads."""

from __future__ import annotations

import pytest

from safety.models import AdverseEvent
from tests.safety.conftest import api_data, base_values, days_ago

pytestmark = pytest.mark.django_db
URL = "/api/v1/adverse-events/"


@pytest.fixture
def fn_values(terms):
    return base_values(terms["Febrile neutropenia"], grade=3, serious=True, sae_hospitalisation=True)


def test_a_coordinator_creates_and_lists_an_ae(client, coordinator, dosed_participant, fn_values):
    client.force_login(coordinator)
    r = client.post(URL, api_data(fn_values, dosed_participant.study_id), content_type="application/json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["term"], body["meddra_code"], body["grade"], body["ctcae_version"]) == (
        "Febrile neutropenia",
        10016288,
        3,
        "5.0",
    )
    assert (
        body["grade_text"].startswith("ANC <1000/mm3") and body["participant"] == dosed_participant.study_id
    )
    listed = client.get(URL).json()["results"]  # a cursor page (issue 17)
    assert [a["id"] for a in listed] == [body["id"]]


def test_rule_violations_are_400_with_the_field_and_rule_named(
    client, coordinator, dosed_participant, fn_values
):
    client.force_login(coordinator)
    bad = {
        **api_data(fn_values, dosed_participant.study_id),
        "grade": 1,
        "sae_hospitalisation": False,
        "end_date": days_ago(20),
    }
    r = client.post(URL, bad, content_type="application/json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert "Grade must be defined for the term" in errors["grade"][0]
    assert "Serious requires at least one SAE criterion" in errors["serious"][0]
    assert "End not before onset" in errors["end_date"][0]
    r = client.post(
        URL,
        {**api_data(fn_values, dosed_participant.study_id), "meddra_code": 1},
        content_type="application/json",
    )
    assert (
        r.status_code == 400
        and "No CTCAE v5.0 term has MedDRA code 1" in r.json()["errors"]["meddra_code"][0]
    )
    assert AdverseEvent.objects.count() == 0


def test_updates_need_a_reason_and_cannot_change_the_grade_but_change_grade_can(client, coordinator, make_ae):
    ae = make_ae("Diarrhea", grade=1, end_date="", ongoing=True)
    client.force_login(coordinator)
    r = client.patch(f"{URL}{ae.pk}/", {"description": "x"}, content_type="application/json")
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    r = client.patch(f"{URL}{ae.pk}/", {"grade": 2, "reason": "worse"}, content_type="application/json")
    assert r.status_code == 400 and "new AE record linked" in r.json()["errors"]["grade"][0]
    r = client.patch(
        f"{URL}{ae.pk}/", {"description": "watery", "reason": "detail"}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["description"] == "watery"
    r = client.post(
        f"{URL}{ae.pk}/change-grade/",
        {"grade": 2, "onset_date": days_ago(3), "reason": "worse"},
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["previous"] == ae.pk and r.json()["grade"] == 2


def test_the_sponsor_reads_all_sites_but_cannot_write(client, sponsor, make_ae, dosed_participant, fn_values):
    ae = make_ae("Fatigue")
    client.force_login(sponsor)
    assert [a["id"] for a in client.get(URL).json()["results"]] == [ae.pk]
    assert client.get(f"{URL}{ae.pk}/").status_code == 200
    r = client.post(URL, api_data(fn_values, dosed_participant.study_id), content_type="application/json")
    assert r.status_code == 403
    r = client.patch(f"{URL}{ae.pk}/", {"description": "x", "reason": "y"}, content_type="application/json")
    assert r.status_code == 403
    assert AdverseEvent.objects.count() == 1


def test_another_site_neither_sees_nor_writes(
    client, other_coordinator, make_ae, dosed_participant, fn_values
):
    ae = make_ae("Fatigue")
    client.force_login(other_coordinator)
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}{ae.pk}/").status_code == 404
    assert (
        client.patch(
            f"{URL}{ae.pk}/", {"description": "x", "reason": "y"}, content_type="application/json"
        ).status_code
        == 404
    )
    r = client.post(URL, api_data(fn_values, dosed_participant.study_id), content_type="application/json")
    assert r.status_code == 400 and "at your sites" in r.json()["errors"]["participant"][0]


def test_a_read_only_token_cannot_write(client, coordinator, dosed_participant, fn_values):
    from django.utils import timezone

    from trial.api_auth import hash_key
    from trial.models import ApiToken

    ApiToken.objects.create(
        user=coordinator,
        key_hash=hash_key("k" * 40),
        prefix="kkkk",
        read_only=True,
        created_by=coordinator,
        expires_at=timezone.now() + timezone.timedelta(days=1),
        scopes=["capture"],
    )
    headers = {"HTTP_AUTHORIZATION": "Token " + "k" * 40}
    assert client.get(URL, **headers).status_code == 200
    r = client.post(
        URL, api_data(fn_values, dosed_participant.study_id), content_type="application/json", **headers
    )
    assert r.status_code == 403
