"""Parallel password guesses cannot slip past the lockout: attempts on one account are checked one at a time."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from tests import factories
from trial.models import LoginFailure

GUESSES = 8


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_store_no_more_failures_than_the_limit(settings):
    settings.LOGIN_LOCKOUT_FAILURES = 3
    factories.make_user("carla")
    barrier = threading.Barrier(GUESSES)
    statuses: list[int] = []

    def guess(spelling: str) -> None:
        try:
            client = Client()
            barrier.wait()
            statuses.append(
                client.post("/accounts/login/", {"username": spelling, "password": "x"}).status_code
            )
        finally:
            connection.close()

    spellings = ["carla", "ｃａｒｌａ", " carla"] * GUESSES
    threads = [threading.Thread(target=guess, args=(spellings[i],)) for i in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * GUESSES
    # Without serialisation every guess passes the lock check before any failure is stored.
    assert LoginFailure.objects.filter(username="carla").count() == 3
