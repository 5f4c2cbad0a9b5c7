"""Two doses of the same drug for one participant in the same minute: the second is a likely duplicate."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tests import factories
from tests.concurrency import in_parallel
from trial import services
from trial.models import AntiPD1Dose, AuditEntry, IdempotencyKey, Participant, TracerDose

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def yesterday_at(hour: int, minute: int, second: int = 0) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=AMS)


def nivolumab(user, participant, when: dt.datetime, **kwargs) -> AntiPD1Dose:
    return services.anti_pd1_dose_record(
        ctx=factories.ctx_for(user),
        participant=participant,
        drug="nivolumab",
        dose_mg=Decimal("240"),
        administered_at=when,
        **kwargs,
    )


def create_reason(dose) -> str:
    return AuditEntry.objects.get(model=dose._meta.model_name, object_id=str(dose.pk), action="create").reason


@pytest.mark.django_db
def test_a_second_nivolumab_dose_in_the_same_minute_is_refused_then_accepted_with_an_audited_reason(
    coordinator, participant
):
    first = nivolumab(coordinator, participant, yesterday_at(10, 15, 5))
    with pytest.raises(ValidationError) as caught:
        nivolumab(coordinator, participant, yesterday_at(10, 15, 40))
    message = caught.value.message_dict["confirm_duplicate_reason"][0]
    assert f"Likely duplicate of Nivolumab dose {first.pk} given at" in message
    second = nivolumab(
        coordinator,
        participant,
        yesterday_at(10, 15, 40),
        confirm_duplicate_reason="Split infusion, two bags",
    )
    assert create_reason(second) == (
        f"Confirmed not a duplicate of Nivolumab dose {first.pk} given at "
        f"{first.administered_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC: Split infusion, two bags"
    )
    assert AntiPD1Dose.objects.count() == 2


@pytest.mark.django_db
def test_the_next_minute_or_a_voided_twin_is_no_duplicate(coordinator, participant):
    first = nivolumab(coordinator, participant, yesterday_at(10, 15))
    nivolumab(coordinator, participant, yesterday_at(10, 16))
    services.record_void(ctx=factories.ctx_for(coordinator), instance=first, reason="wrong participant")
    nivolumab(coordinator, participant, yesterday_at(10, 15))
    assert AntiPD1Dose.objects.filter(voided=False).count() == 2


@pytest.mark.django_db
def test_two_tracer_injections_in_the_same_minute_need_a_reason(coordinator, participant):
    first = factories.record_tracer_dose(coordinator, participant)
    with pytest.raises(ValidationError) as caught:
        factories.record_tracer_dose(coordinator, participant, code="OT_TRACER", when=first.administered_at)
    assert f"89Zr-Df-crefmirlimab dose {first.pk}" in caught.value.message_dict["confirm_duplicate_reason"][0]
    assert TracerDose.objects.count() == 1


def dose_form(when: dt.datetime, **extra: str) -> dict:
    return {"drug": "nivolumab", "dose_mg": "240", "administered_at": f"{when:%Y-%m-%dT%H:%M}", **extra}


def dose_url(participant) -> str:
    return f"/participants/{participant.pk}/anti-pd1-doses/new/"


@pytest.mark.django_db
def test_the_dose_page_refuses_the_twin_then_records_it_with_the_box_ticked_and_a_reason(
    client, coordinator, participant
):
    client.force_login(coordinator)
    when = yesterday_at(9, 0)
    assert client.post(dose_url(participant), dose_form(when)).status_code == 302
    r = client.post(dose_url(participant), dose_form(when))
    assert r.status_code == 400 and "Likely duplicate of Nivolumab dose" in r.content.decode()
    r = client.post(
        dose_url(participant),
        dose_form(when, confirm_duplicate="on", confirm_duplicate_reason="Second half of a split dose"),
    )
    assert r.status_code == 302
    second = AntiPD1Dose.objects.order_by("id").last()
    assert create_reason(second).endswith(": Second half of a split dose")


@pytest.mark.django_db
def test_a_replayed_dose_form_records_nothing(client, coordinator, participant):
    client.force_login(coordinator)
    assert b'name="form_token"' in client.get(dose_url(participant)).content
    data = dose_form(yesterday_at(9, 0), form_token="ZG9zZS10b2tlbi0xMjM0NTY3")
    first = client.post(dose_url(participant), data)
    again = client.post(dose_url(participant), data)
    assert (first.status_code, again.status_code, again.url) == (302, 302, first.url)
    assert AntiPD1Dose.objects.count() == 1 and IdempotencyKey.objects.get().method == "FORM"


@pytest.mark.django_db
def test_a_replayed_enrolment_form_enrols_nobody_new(client, coordinator, site_nl):
    from trial.models import EligibilityCriterion

    client.force_login(coordinator)
    today = timezone.localdate()
    data = {
        "site": site_nl.pk,
        "year_of_birth": 1960,
        "sex": "F",
        "height_cm": "170",
        "weight_kg": "70",
        "tumour_type": "Melanoma",
        "planned_anti_pd1": "nivolumab",
        "consent_date": today - dt.timedelta(days=3),
        "consent_version": "ICF v1.0",
        "enrolment_date": today - dt.timedelta(days=1),
        "treatment_start_date": today + dt.timedelta(days=7),
        "form_token": "ZW5yb2wtdG9rZW4tMTIzNDU2",
        **{f"criterion_{c.pk}": "yes" for c in EligibilityCriterion.objects.all()},
    }
    data.update({f"criterion_{c.pk}": "no" for c in EligibilityCriterion.objects.filter(kind="exclusion")})
    first = client.post("/participants/new/", data)
    assert first.status_code == 302, first.context["form"].errors
    again = client.post("/participants/new/", data)
    assert (again.status_code, again.url) == (302, first.url)
    assert Participant.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_nivolumab_doses_posted_in_parallel_are_recorded_once(coordinator, participant):
    def post():
        client = Client()
        client.force_login(coordinator)
        return client.post(dose_url(participant), dose_form(yesterday_at(11, 30)))

    results = in_parallel(post, post)
    assert sorted(r.status_code for r in results) == [302, 400], results
    assert AntiPD1Dose.objects.count() == 1
