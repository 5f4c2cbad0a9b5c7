"""`Idempotency-Key` on POST /api/v1/adverse-events/: a replay gets the first answer and creates nothing."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.test import Client

from safety.models import AdverseEvent
from tests.concurrency import in_parallel, start, wait_for_lock_waiters
from tests.safety.conftest import api_data, base_values
from trial.models import AuditEntry, IdempotencyKey, Participant

URL = "/api/v1/adverse-events/"


def errors_of(response) -> dict:
    body = response.json()
    return body.get("errors", body)


@pytest.fixture
def body(terms, dosed_participant) -> str:
    return json.dumps(api_data(base_values(terms["Fatigue"]), dosed_participant.study_id))


def post(client: Client, body: str, key: str | None = None, url: str = URL):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, body, content_type="application/json", **headers)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_replay_with_the_same_key_returns_the_first_response_and_creates_nothing(coordinator, body):
    client = logged_in(coordinator)
    first = post(client, body, key="0b6f2d1e-key-1")
    again = post(client, body, key='"0b6f2d1e-key-1"')  # the draft's sf-string form is the same key
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert AdverseEvent.objects.count() == 1
    row = IdempotencyKey.objects.get()
    assert (row.user, row.key, row.method, row.path, row.status_code) == (
        coordinator,
        "0b6f2d1e-key-1",
        "POST",
        URL,
        201,
    )


@pytest.mark.django_db
def test_the_same_key_with_another_body_or_path_is_422(coordinator, body, terms, dosed_participant):
    client = logged_in(coordinator)
    assert post(client, body, key="k-422").status_code == 201
    other = json.dumps(api_data(base_values(terms["Nausea"]), dosed_participant.study_id))
    r = post(client, other, key="k-422")
    assert r.status_code == 422 and "different request body" in r.json()["detail"]
    r = post(client, body, key="k-422", url=URL + "?again=1")
    assert r.status_code == 422 and "already used for POST /api/v1/adverse-events/" in r.json()["detail"]
    assert AdverseEvent.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_user(coordinator, investigator, body):
    assert post(logged_in(coordinator), body, key="shared").status_code == 201
    r = post(logged_in(investigator), body, key="shared")
    assert r.status_code == 400 and "Likely duplicate of AE" in errors_of(r)["confirm_duplicate_reason"][0]


@pytest.mark.django_db
def test_a_refused_request_keeps_no_key_so_the_corrected_one_can_use_it(coordinator, body):
    client = logged_in(coordinator)
    bad = json.loads(body) | {"grade": 9}
    assert post(client, json.dumps(bad), key="k-retry").status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert post(client, body, key="k-retry").status_code == 201
    assert AdverseEvent.objects.count() == 1
    assert IdempotencyKey.objects.get().status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "bad\x01key"])
def test_a_malformed_key_is_a_400_naming_the_header(coordinator, body, key):
    r = post(logged_in(coordinator), body, key=key)
    assert r.status_code == 400 and "Idempotency-Key" in errors_of(r)
    assert AdverseEvent.objects.count() == 0


@pytest.mark.django_db
def test_without_a_key_a_resubmission_is_refused_as_a_likely_duplicate_unless_confirmed(coordinator, body):
    client = logged_in(coordinator)
    first = post(client, body).json()
    r = post(client, body)
    assert r.status_code == 400
    message = errors_of(r)["confirm_duplicate_reason"][0]
    assert f"Likely duplicate of AE {first['id']}: Fatigue grade 1" in message
    confirmed = json.loads(body) | {"confirm_duplicate_reason": "Second, separate episode after recovery."}
    r = post(client, json.dumps(confirmed))
    assert r.status_code == 201, r.json()
    entry = AuditEntry.objects.get(model="adverseevent", object_id=str(r.json()["id"]), action="create")
    assert entry.reason == (
        f"Confirmed not a duplicate of AE {first['id']}: Fatigue grade 1 (onset {first['onset_date']}): "
        "Second, separate episode after recovery."
    )
    assert AdverseEvent.objects.count() == 2


@pytest.mark.django_db
def test_change_grade_honours_the_key_too(coordinator, make_ae, terms):
    ae = make_ae("Fatigue", end_date="", ongoing=True, outcome="not_recovered")
    client = logged_in(coordinator)
    data = json.dumps({"grade": 2, "onset_date": ae.onset_date, "reason": "worse"})
    url = f"{URL}{ae.pk}/change-grade/"
    first = post(client, data, key="cg-1", url=url)
    again = post(client, data, key="cg-1", url=url)
    assert first.status_code == again.status_code == 201, first.json()
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert AdverseEvent.objects.count() == 2


def test_the_schema_documents_the_header_on_the_creates():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in (
        "/api/v1/adverse-events/",
        "/api/v1/adverse-events/{id}/change-grade/",
        "/api/v1/lesions/",
        "/api/v1/lesion-assessments/{id}/measurements/",
        "/api/v1/ihc-scores/",
    ):
        names = [p["name"] for p in schema["paths"][path]["post"].get("parameters", [])]
        assert "Idempotency-Key" in names, path


# --- concurrency: real threads, each with its own connection ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_identical_posts_in_parallel_create_one_ae(coordinator, body):
    results = in_parallel(*(lambda: post(logged_in(coordinator), body) for _ in range(2)))
    assert sorted(r.status_code for r in results) == [201, 400], results
    assert AdverseEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_posts_with_the_same_key_in_parallel_create_one_ae_and_answer_the_same(coordinator, body):
    results = in_parallel(*(lambda: post(logged_in(coordinator), body, key="par-1") for _ in range(2)))
    assert [r.status_code for r in results] == [201, 201], results
    assert results[0].content == results[1].content
    assert sorted(r.get("Idempotent-Replayed", "") for r in results) == ["", "true"]
    assert AdverseEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_is_in_flight_waits_and_gets_the_first_response(coordinator, body):
    with transaction.atomic():  # hold the participant's row: the first request stops mid-create, key claimed
        Participant.objects.select_for_update().get(pk=Participant.objects.get().pk)
        first, first_out = start(lambda: post(logged_in(coordinator), body, key="flight"))
        wait_for_lock_waiters(1)
        second, second_out = start(lambda: post(logged_in(coordinator), body, key="flight"))
        wait_for_lock_waiters(2)
    first.join(timeout=30)
    second.join(timeout=30)
    first, second = first_out[0], second_out[0]
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.content == first.content and second["Idempotent-Replayed"] == "true"
    assert AdverseEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_that_waits_too_long_for_the_first_is_409(coordinator, body, settings):
    settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = 1
    with transaction.atomic():
        Participant.objects.select_for_update().get(pk=Participant.objects.get().pk)
        first, first_out = start(lambda: post(logged_in(coordinator), body, key="slow"))
        wait_for_lock_waiters(1)
        second, second_out = start(lambda: post(logged_in(coordinator), body, key="slow"))
        second.join(timeout=30)
    first.join(timeout=30)
    assert second_out[0].status_code == 409 and "still being processed" in second_out[0].json()["detail"]
    assert first_out[0].status_code == 201
    replay = post(logged_in(coordinator), body, key="slow")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert AdverseEvent.objects.count() == 1
