"""Saving a serious AE queues (on commit) the SAE e-mail to the sponsor's safety contact and the site's
investigator; the send time is stored; failures retry and stay visible on the dashboard with the 24-hour clock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from safety import selectors, services
from safety.models import AdverseEvent, SaeNotification
from tests.factories import PASSWORD
from tests.safety.conftest import days_ago

pytestmark = pytest.mark.django_db
SAE = {"serious": True, "sae_hospitalisation": True, "grade": 3}


def test_a_serious_ae_emails_sponsor_and_investigators_after_commit(
    make_ae, investigator, settings, django_capture_on_commit_callbacks
):
    settings.SPONSOR_SAFETY_EMAIL = "pv@sponsor.example"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ae = make_ae("Febrile neutropenia", **SAE)
    assert mail.outbox == [] and len(callbacks) == 1  # nothing is sent before the transaction commits
    callbacks[0]()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pv@sponsor.example", "pi.nl01@example.org", "ivan@example.org"]
    assert "Initial SAE report" in message.subject and ae.participant.study_id in message.subject
    assert "Febrile neutropenia grade 3" in message.subject
    assert (
        "Requires or prolongs hospitalisation" in message.body
        and "24-hour reporting deadline" in message.body
    )
    note = SaeNotification.objects.get(adverse_event=ae)
    assert note.sent_at is not None and note.attempts == 1 and note.status == "sent"
    assert note.recipients == message.to
    assert timezone.now() - note.sent_at < dt.timedelta(minutes=1)


def test_a_non_serious_ae_sends_nothing(make_ae, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_ae("Fatigue")
    assert mail.outbox == [] and SaeNotification.objects.count() == 0


def test_an_edit_that_makes_an_ae_serious_sends_an_initial_report_and_later_edits_follow_ups(
    make_ae, ctx, django_capture_on_commit_callbacks
):
    ae = make_ae("Diarrhea", grade=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.ae_update(
            ctx=ctx, ae=ae, values={"serious": True, "sae_hospitalisation": True}, reason="Admitted"
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.ae_update(ctx=ctx, ae=ae, values={"description": "discharged"}, reason="Follow-up")
    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        "[CD8-PET] Initial SAE report",
        "[CD8-PET] Follow-up SAE report",
    ]
    ae.refresh_from_db()
    assert ae.sae_aware_at is not None


def test_a_failing_send_retries_then_stays_visible_as_failed(
    make_ae, coordinator, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.safety.mail_backends.RefusingBackend"
    settings.SAE_NOTIFY_MAX_RETRIES = 2
    with django_capture_on_commit_callbacks(execute=True):
        ae = make_ae("Febrile neutropenia", **SAE)
    note = SaeNotification.objects.get(adverse_event=ae)
    assert note.sent_at is None and note.gave_up and note.attempts == 3  # first try + 2 retries
    assert "Connection refused" in note.last_error and note.status == "failed"
    pending = selectors.sae_pending(user=coordinator)
    assert [i["ae"] for i in pending] == [ae] and pending[0]["unsent"] == [note]
    assert pending[0]["clock"].endswith("left")


def test_a_flaky_server_is_retried_until_the_mail_goes(make_ae, settings, django_capture_on_commit_callbacks):
    from tests.safety.mail_backends import FlakyBackend

    FlakyBackend.calls, FlakyBackend.failures = 0, 2
    settings.EMAIL_BACKEND = "tests.safety.mail_backends.FlakyBackend"
    with django_capture_on_commit_callbacks(execute=True):
        ae = make_ae("Febrile neutropenia", **SAE)
    note = SaeNotification.objects.get(adverse_event=ae)
    assert note.sent_at is not None and note.attempts == 3 and not note.gave_up
    assert len(mail.outbox) == 1


def test_a_failed_notification_can_be_sent_again_from_the_ae_page(
    make_ae, coordinator, client, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.safety.mail_backends.RefusingBackend"
    settings.SAE_NOTIFY_MAX_RETRIES = 0
    with django_capture_on_commit_callbacks(execute=True):
        ae = make_ae("Febrile neutropenia", **SAE)
    note = SaeNotification.objects.get()
    assert note.gave_up
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/safety/notifications/{note.pk}/resend/").status_code == 302
    note.refresh_from_db()
    assert note.sent_at is not None and note.attempts == 2 and len(mail.outbox) == 1
    assert "sent" in client.get(f"/safety/aes/{ae.pk}/").content.decode()


def test_the_dashboard_lists_saes_until_notified_and_signed_with_the_24_hour_clock(
    make_ae, coordinator, investigator, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ae = make_ae("Febrile neutropenia", **SAE)
    client.force_login(coordinator)
    page = client.get("/").content.decode()
    assert "Serious adverse events pending" in page and "not signed" in page and "reported in time" in page
    services.aes_sign(
        ctx=services.AuditContext(user=investigator),
        participant=ae.participant,
        password=PASSWORD,
        meaning="complete_accurate",
    )
    assert selectors.sae_pending(user=coordinator) == []
    AdverseEvent.objects.filter(pk=ae.pk).update(sae_aware_at=timezone.now() - dt.timedelta(hours=30))
    SaeNotification.objects.update(sent_at=None)
    item = selectors.sae_pending(user=coordinator)[0]
    assert item["clock"].startswith("overdue by 6 h") and item["seconds_left"] < 0


def test_clock_text():
    now = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert selectors.clock_text(now + dt.timedelta(hours=2, minutes=30), now, None) == "2 h 30 min left"
    assert selectors.clock_text(now - dt.timedelta(minutes=5), now, None) == "overdue by 0 h 05 min"
    assert selectors.clock_text(now, now, now - dt.timedelta(hours=1)) == "reported in time"
    assert selectors.clock_text(now, now, now + dt.timedelta(hours=3)) == "reported 3 h 00 min late"


def test_another_sites_sae_is_not_on_my_dashboard(
    make_ae, other_coordinator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_ae("Febrile neutropenia", **SAE)
    assert selectors.sae_pending(user=other_coordinator) == []


def test_grade_change_of_an_sae_sends_a_follow_up(make_ae, ctx, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ae = make_ae("Febrile neutropenia", **SAE, end_date="", ongoing=True, onset_date=days_ago(6))
        services.ae_change_grade(
            ctx=ctx,
            ae=ae,
            values={"grade": 4, "onset_date": days_ago(2), "sae_life_threatening": True},
            reason="ICU",
        )
    assert [n.kind for n in SaeNotification.objects.order_by("id")] == ["initial", "follow_up"]
