"""E-mail backends that fail like an unreachable SMTP server (for the retry tests)."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("[Errno 111] Connection refused (smtp.example:25)")


class FlakyBackend(LocmemBackend):
    """Refuses the first `failures` sends, then delivers to mail.outbox."""

    failures = 2
    calls = 0

    def send_messages(self, email_messages):
        type(self).calls += 1
        if type(self).calls <= type(self).failures:
            raise TimeoutError("SMTP timed out")
        return super().send_messages(email_messages)
