"""IHC score creates honour `Idempotency-Key`: a replay gets the first response and scores nothing more."""

from __future__ import annotations

import pytest

from pathology.models import IhcScore
from tests.pathology.builders import make_biopsy

pytestmark = pytest.mark.django_db


def test_a_replayed_ihc_score_post_returns_the_first_response_and_creates_nothing(
    client_for, pathologist, participant
):
    biopsy = make_biopsy(pathologist, participant)
    client = client_for(pathologist)
    body = {
        "biopsy": biopsy.pk,
        "marker": "CD8",
        "score_date": biopsy.biopsy_date.isoformat(),
        "antibody_clone": "C8/144B",
        "scoring_method": "digital",
        "percent_positive": 14.5,
    }

    def post(**changes):
        return client.post(
            "/api/v1/ihc-scores/",
            {**body, **changes},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="s-1",
        )

    first, again = post(), post()
    assert (first.status_code, again.status_code) == (201, 201), first.content
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert post(percent_positive=20).status_code == 422
    assert IhcScore.objects.count() == 1
