"""The AE signature honours the login lockout: a locked account cannot sign, even with the right password."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from safety import services
from safety.models import AeSignature
from tests import factories
from tests.factories import PASSWORD
from trial.models import LoginFailure

pytestmark = pytest.mark.django_db
MEANING = "complete_accurate"


def lock(client, username: str) -> None:
    for _ in range(5):
        client.post("/accounts/login/", {"username": username, "password": "wrong-guess"})
    assert LoginFailure.objects.filter(username=username).count() == 5


def test_a_locked_investigator_cannot_sign_with_the_right_password(
    make_ae, investigator, dosed_participant, client
):
    make_ae("Fatigue")
    client.force_login(investigator)  # logged in before someone guesses the password elsewhere
    lock(Client(), investigator.username)
    response = client.post(
        f"/safety/participants/{dosed_participant.pk}/sign/", {"meaning": MEANING, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert re.search(r"locked after repeated failed logins until \d\d:\d\d UTC", response.content.decode())
    assert AeSignature.objects.count() == 0


def test_the_service_refuses_a_locked_account_and_does_not_extend_the_lock(
    make_ae, investigator, dosed_participant
):
    make_ae("Fatigue")
    for _ in range(5):
        LoginFailure.objects.create(username=investigator.username)
    with pytest.raises(ValidationError, match="locked"):
        services.aes_sign(
            ctx=factories.ctx_for(investigator),
            participant=dosed_participant,
            password=PASSWORD,
            meaning=MEANING,
        )
    assert AeSignature.objects.count() == 0
    assert LoginFailure.objects.filter(username=investigator.username).count() == 5
