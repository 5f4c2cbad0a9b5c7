"""SAE e-mail notification (thin: message and bookkeeping live in services)."""

from __future__ import annotations

import os

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from safety.models import SaeNotification
from safety.services import notification_mark_attempt, notification_recipients, sae_message


def _setting(name: str, default: int) -> int:
    """A Django setting, else the environment (the worker's), else the default."""
    return int(getattr(settings, name, None) or os.environ.get(name) or default)


def max_retries() -> int:
    value = getattr(settings, "SAE_NOTIFY_MAX_RETRIES", None)
    return int(value) if value is not None else int(os.environ.get("SAE_NOTIFY_MAX_RETRIES", 5))


def retry_seconds(retries: int) -> int:
    """Back off 1, 2, 4, ... minutes between attempts (capped at 30 minutes)."""
    base = _setting("SAE_NOTIFY_RETRY_SECONDS", 60)
    return min(base * 2**retries, 1800)


@shared_task(bind=True, acks_late=True)
def send_sae_notification(self, notification_id: int) -> dict:
    """E-mail the sponsor's safety contact and the site's investigator; record when it was sent."""
    note = SaeNotification.objects.select_related(
        "adverse_event__participant__site", "adverse_event__term"
    ).get(pk=notification_id)
    if note.sent_at:
        return {"status": "sent", "sent_at": note.sent_at.isoformat()}
    recipients = notification_recipients(note.adverse_event)
    subject, body = sae_message(note.adverse_event, note.kind)
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any transport error is recorded and retried
        gave_up = self.request.retries >= max_retries()
        with transaction.atomic():
            notification_mark_attempt(
                notification_id=note.pk,
                error=f"{type(exc).__name__}: {exc}",
                gave_up=gave_up,
                recipients=recipients,
            )
        if gave_up:
            return {"status": "failed", "error": str(exc)}
        if self.request.is_eager:  # no broker (demo, tests): retry in-process, without the back-off wait
            return send_sae_notification.apply(
                args=(notification_id,), retries=self.request.retries + 1
            ).get()
        raise self.retry(
            exc=exc, countdown=retry_seconds(self.request.retries), max_retries=max_retries()
        ) from exc
    with transaction.atomic():
        notification_mark_attempt(notification_id=note.pk, error="", gave_up=False, recipients=recipients)
    return {"status": "sent", "recipients": recipients}
