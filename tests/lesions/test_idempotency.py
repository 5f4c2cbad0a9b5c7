"""Lesion creates honour `Idempotency-Key` (API) and the one-time form token (page)."""

from __future__ import annotations

import pytest

from lesions.models import Lesion

pytestmark = pytest.mark.django_db


def test_a_replayed_lesion_create_returns_the_first_response_and_creates_nothing(
    client, radiologist, participant
):
    client.force_login(radiologist)
    body = {"participant": participant.pk, "label": "T1", "organ": "Liver", "role": "target"}
    first = client.post("/api/v1/lesions/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="l-1")
    again = client.post("/api/v1/lesions/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="l-1")
    assert (first.status_code, again.status_code) == (201, 201), first.json()
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert Lesion.objects.count() == 1


def test_a_replayed_lesion_form_records_nothing(client, radiologist, participant):
    client.force_login(radiologist)
    url = f"/lesions/participants/{participant.pk}/lesions/new/"
    assert b'name="form_token"' in client.get(url).content
    data = {"label": "T1", "organ": "Liver", "role": "target", "form_token": "bGVzaW9uLXRva2VuLTEyMzQ1"}
    first = client.post(url, data)
    again = client.post(url, data)
    assert (first.status_code, again.status_code, again.url) == (302, 302, first.url)
    assert Lesion.objects.count() == 1
