"""The participant page's query count does not depend on how many records the participant holds (issue 17).

Two participants generated with the scale loader (trial/scale.py): the first with a few AEs and scans, the
second with many more AEs, PET and MRI scans, uploads and audit entries. The page of each is counted once warm;
every section other apps add (AEs, scans, MRI series, casebook, monitoring, queries, ...) is included, so a query
per AE, per scan or per casebook form anywhere on the page shows as a difference.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imaging.models import Scan
from safety.models import AdverseEvent
from tests import factories
from trial.models import AuditEntry, Participant, Role, Site
from trial.scale import ScaleLoader, ScalePlan

pytestmark = pytest.mark.django_db

# Permission questions answered from one read of the memberships, the per-form casebook counts in one query;
# the missing-forms section adds one query per form kind of the protocol calendar (about ten).
MAX_QUERIES = 70


def _load(participants: int, aes: int, audit: int, scans: int, seed: int) -> None:
    ScaleLoader(ScalePlan(1, participants, aes, audit, scans=scans, seed=seed, report=lambda _m: None)).run()


def _page_queries(client, participant: Participant) -> int:
    url = f"/participants/{participant.pk}/"
    assert client.get(url).status_code == 200  # warm: the session save after login is not the page's
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    assert participant.study_id.encode() in response.content
    return len(ctx.captured_queries)


def _records(participant: Participant) -> tuple[int, int, int, int]:
    scans = Scan.objects.filter(participant=participant, voided=False)
    return (
        AdverseEvent.objects.filter(participant=participant).count(),
        scans.count(),
        scans.filter(modality="MR").count(),
        AuditEntry.objects.filter(participant_id=participant.pk).count(),
    )


def test_participant_page_queries_do_not_grow_with_the_participants_records(client):
    _load(participants=1, aes=2, audit=0, scans=3, seed=3)
    small = Participant.objects.get()
    _load(participants=1, aes=60, audit=400, scans=50, seed=4)
    large = Participant.objects.exclude(pk=small.pk).get()
    few, many = _records(small), _records(large)
    assert few[2] >= 1, "the small participant has an MRI scan (the MRI section is shown at both sizes)"
    assert all(m > f for f, m in zip(few, many, strict=True)), (few, many)
    manager = factories.make_user("dana", (Site.objects.order_by("id").first(), Role.DATA_MANAGER))
    client.force_login(manager)
    counts = (_page_queries(client, small), _page_queries(client, large))
    assert counts[0] == counts[1], f"participant page queries (few records, many records): {counts}"
    assert counts[1] <= MAX_QUERIES, counts
