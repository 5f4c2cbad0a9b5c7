"""Likely duplicate AEs (same participant, term, onset and grade) are refused everywhere unless confirmed;
create forms carry a one-time token so a replayed POST records nothing."""

from __future__ import annotations

import csv

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from safety import services
from safety.models import AdverseEvent
from tests.concurrency import in_parallel
from tests.safety.channels import IMPORT_COLUMNS, via_api, via_form
from tests.safety.conftest import api_data, base_values, days_ago, form_data
from trial.models import AuditEntry, IdempotencyKey

TOKEN = "Zm9ybS10b2tlbi0xMjM0NTY3ODkw"


def create_entry(ae: AdverseEvent) -> AuditEntry:
    return AuditEntry.objects.get(model="adverseevent", object_id=str(ae.pk), action="create")


def new_url(participant) -> str:
    return f"/safety/participants/{participant.pk}/aes/new/"


@pytest.mark.django_db
def test_the_service_refuses_a_live_twin_and_names_it_then_records_it_when_confirmed(make_ae, terms, ctx):
    first = make_ae("Fatigue")
    with pytest.raises(ValidationError) as caught:
        make_ae("Fatigue")
    message = caught.value.message_dict["confirm_duplicate_reason"][0]
    assert message.startswith(
        f"Likely duplicate of AE {first.pk}: Fatigue grade 1 (onset {first.onset_date})"
    )
    second = services.ae_create(
        ctx=ctx,
        participant=first.participant,
        values=base_values(terms["Fatigue"]),
        confirm_duplicate_reason="Second episode, confirmed with the source notes",
    )
    assert create_entry(second).reason.endswith(": Second episode, confirmed with the source notes")
    assert AdverseEvent.objects.count() == 2


@pytest.mark.django_db
def test_another_grade_onset_or_term_or_a_voided_twin_is_no_duplicate(make_ae, terms, ctx):
    from trial.services import record_void

    first = make_ae("Fatigue")
    make_ae("Fatigue", grade=2)
    make_ae("Fatigue", onset_date=days_ago(11))
    make_ae("Nausea")
    record_void(ctx=ctx, instance=first, reason="entered twice")
    make_ae("Fatigue")
    assert AdverseEvent.objects.filter(voided=False).count() == 4


@pytest.mark.django_db
def test_the_form_refuses_a_twin_then_saves_it_with_the_box_ticked_and_a_reason(
    client, coordinator, make_ae, terms, dosed_participant
):
    first = make_ae("Fatigue")
    client.force_login(coordinator)
    data = form_data(base_values(terms["Fatigue"]))
    r = client.post(new_url(dosed_participant), data)
    assert r.status_code == 400
    assert f"Likely duplicate of AE {first.pk}" in r.context["form"].errors["confirm_duplicate_reason"][0]
    assert b'id="duplicate-confirmation"' in r.content
    r = client.post(new_url(dosed_participant), {**data, "confirm_duplicate": "on"})
    assert (
        r.status_code == 400 and "Give the reason" in r.context["form"].errors["confirm_duplicate_reason"][0]
    )
    r = client.post(
        new_url(dosed_participant),
        {**data, "confirm_duplicate": "on", "confirm_duplicate_reason": "Two separate episodes"},
    )
    assert r.status_code == 302
    second = AdverseEvent.objects.exclude(pk=first.pk).get()
    assert create_entry(second).reason.endswith(": Two separate episodes")
    assert b'id="duplicate-confirmation"' not in client.get(new_url(dosed_participant)).content


@pytest.mark.django_db
def test_api_and_form_refuse_the_same_twin(client, coordinator, make_ae, terms, dosed_participant):
    first = make_ae("Fatigue")
    client.force_login(coordinator)
    values = base_values(terms["Fatigue"])
    status, errors = via_api(client, dosed_participant, values)
    errors = errors.get("errors", errors)
    assert status == 400 and f"AE {first.pk}" in errors["confirm_duplicate_reason"][0]
    status, errors = via_form(client, dosed_participant, values)
    assert status == 400 and f"AE {first.pk}" in errors["confirm_duplicate_reason"][0]


def write_csv(path, rows: list[dict]) -> None:
    columns = [*IMPORT_COLUMNS, "confirm_duplicate_reason"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def csv_row(values: dict, study_id: str, **extra: str) -> dict:
    row = {
        k: ("1" if v is True else "0" if v is False else "" if v is None else str(v))
        for k, v in api_data(values, study_id).items()
    }
    return {**row, **extra}


@pytest.mark.django_db
def test_the_import_refuses_a_twin_row_naming_the_record_unless_the_row_confirms_it(
    tmp_path, coordinator, make_ae, terms, dosed_participant
):
    first = make_ae("Fatigue")
    path = tmp_path / "aes.csv"
    row = csv_row(base_values(terms["Fatigue"]), dosed_participant.study_id)
    write_csv(path, [row])
    with pytest.raises(CommandError) as caught:
        call_command("import_aes", str(path), user=coordinator.username)
    assert f"line 2: confirm_duplicate_reason: Likely duplicate of AE {first.pk}" in str(caught.value)
    assert AdverseEvent.objects.count() == 1
    write_csv(path, [{**row, "confirm_duplicate_reason": "Sponsor listing: two episodes"}])
    call_command("import_aes", str(path), user=coordinator.username)
    second = AdverseEvent.objects.exclude(pk=first.pk).get()
    assert create_entry(second).reason.endswith(": Sponsor listing: two episodes")
    assert create_entry(second).source == "import"


@pytest.mark.django_db
def test_a_replayed_form_post_with_the_same_token_records_nothing_and_goes_where_the_first_went(
    client, coordinator, terms, dosed_participant
):
    client.force_login(coordinator)
    page = client.get(new_url(dosed_participant))
    assert b'name="form_token"' in page.content
    data = {**form_data(base_values(terms["Fatigue"])), "form_token": TOKEN}
    first = client.post(new_url(dosed_participant), data)
    again = client.post(new_url(dosed_participant), data, follow=True)
    assert first.status_code == 302
    assert again.redirect_chain[0] == (first.url, 302)
    assert "already saved; nothing was recorded twice" in again.content.decode()
    assert AdverseEvent.objects.count() == 1
    token = IdempotencyKey.objects.get()
    assert (token.method, token.key, token.path, bytes(token.response_body).decode()) == (
        "FORM",
        TOKEN,
        new_url(dosed_participant),
        first.url,
    )


@pytest.mark.django_db
def test_a_refused_form_keeps_its_token_for_the_corrected_post(client, coordinator, terms, dosed_participant):
    client.force_login(coordinator)
    data = {**form_data(base_values(terms["Fatigue"])), "form_token": TOKEN}
    r = client.post(new_url(dosed_participant), {**data, "grade": "5"})
    assert r.status_code == 400 and f'value="{TOKEN}"'.encode() in r.content
    assert client.post(new_url(dosed_participant), data).status_code == 302
    assert AdverseEvent.objects.count() == 1


def _page_post(user, participant, data: dict):
    client = Client()
    client.force_login(user)
    return client.post(new_url(participant), data)


@pytest.mark.django_db(transaction=True)
def test_two_identical_page_posts_in_parallel_create_one_ae(coordinator, terms, dosed_participant):
    data = form_data(base_values(terms["Fatigue"]))
    results = in_parallel(*(lambda: _page_post(coordinator, dosed_participant, data) for _ in range(2)))
    assert sorted(r.status_code for r in results) == [302, 400], results
    assert AdverseEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_double_click_in_parallel_with_one_token_creates_one_ae_and_both_redirect(
    coordinator, terms, dosed_participant
):
    data = {**form_data(base_values(terms["Fatigue"])), "form_token": TOKEN}
    results = in_parallel(*(lambda: _page_post(coordinator, dosed_participant, data) for _ in range(2)))
    assert [r.status_code for r in results] == [302, 302], results
    assert results[0].url == results[1].url
    assert AdverseEvent.objects.count() == 1
