"""The SAE e-mail goes through Redis to a real Celery worker, which sends it (file backend) and stores the time."""

from __future__ import annotations

import pytest

from safety.models import SaeNotification
from tests import factories
from tests.safety.conftest import base_values
from tests.worker import running_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_real_worker_sends_the_sae_email_and_records_when(tmp_path, coordinator, investigator, site_nl):
    from safety import services
    from safety.models import CtcaeTerm

    participant = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, participant)
    mail_dir = tmp_path / "mail"
    env = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    with running_worker(extra_env=env) as proc:
        term = CtcaeTerm.objects.get(term="Colitis")
        ae = services.ae_create(
            ctx=factories.ctx_for(coordinator),
            participant=participant,
            values=base_values(term, grade=3, serious=True, sae_hospitalisation=True, immune_related=True),
        )
        note = wait_for(
            lambda: SaeNotification.objects.filter(adverse_event=ae, sent_at__isnull=False).first()
        )
        assert proc.poll() is None
    assert note.attempts == 1 and note.recipients[1:] == ["pi.nl01@example.org", "ivan@example.org"]
    files = list(mail_dir.iterdir())
    assert len(files) == 1
    text = files[0].read_text()
    assert "Initial SAE report" in text and participant.study_id in text and "Colitis grade 3" in text
    assert "To: " in text and "pi.nl01@example.org" in text


def test_the_real_worker_retries_a_refused_send_and_leaves_it_visibly_failed(tmp_path, coordinator, site_nl):
    from safety import selectors, services
    from safety.models import CtcaeTerm

    participant = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, participant)
    env = {
        "EMAIL_BACKEND": "tests.safety.mail_backends.RefusingBackend",
        "SAE_NOTIFY_MAX_RETRIES": "2",
        "SAE_NOTIFY_RETRY_SECONDS": "1",
    }
    with running_worker(extra_env=env):
        term = CtcaeTerm.objects.get(term="Pneumonitis")
        ae = services.ae_create(
            ctx=factories.ctx_for(coordinator),
            participant=participant,
            values=base_values(term, grade=3, serious=True, sae_hospitalisation=True),
        )
        note = wait_for(lambda: SaeNotification.objects.filter(adverse_event=ae, gave_up=True).first())
    assert note.attempts == 3 and note.sent_at is None and "Connection refused" in note.last_error
    assert [i["ae"] for i in selectors.sae_pending(user=coordinator)] == [ae]
