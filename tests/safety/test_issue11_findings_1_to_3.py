"""Issue 11 findings 1-3 replayed through the HTTP surface only (pages and API as a user drives them), so the
same file runs unchanged on the code before the fix (86ac4b9), where each test fails, and on today's code.

1. Lost update: two coordinators open the same AE edit form; B's later save must not revert A's change.
2. Forked history: two simultaneous status changes (to on treatment, to withdrawn) must not both succeed.
3. Duplicates: two identical AE submissions in parallel create one AE; replaying the submission with its
   Idempotency-Key creates nothing more.
"""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections
from django.test import Client

from safety.models import AdverseEvent
from tests.findings.forms import form_values, submit
from trial.models import ParticipantStatus, ParticipantStatusChange


@pytest.mark.django_db
def test_1_a_stale_edit_form_does_not_revert_another_users_saved_change(
    client, coordinator, make_ae, site_nl
):
    from tests import factories
    from trial.models import Role

    ae = make_ae("Fatigue")
    other = factories.make_user("cora", (site_nl, Role.SITE_COORDINATOR))
    a, b = Client(), Client()
    a.force_login(coordinator)
    b.force_login(other)
    url = f"/safety/aes/{ae.pk}/edit/"
    page_a, page_b = a.get(url).content, b.get(url).content  # both open the form
    submit(a, url, {"verbatim_term": "tiredness after infusion", "reason": "source document"}, page_a)
    submit(b, url, {"description": "seen at day 8", "reason": "source document"}, page_b)
    ae.refresh_from_db()
    assert ae.verbatim_term == "tiredness after infusion", "B's stale form reverted A's change"


def _in_parallel(*calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int, call) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_2_two_simultaneous_status_changes_do_not_fork_the_history(coordinator, participant):
    url = f"/participants/{participant.pk}/status/"
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(coordinator)
    pages = [c.get(url).content for c in clients]
    wanted = [ParticipantStatus.ON_TREATMENT, ParticipantStatus.WITHDRAWN]  # both allowed from Enrolled
    _in_parallel(
        *[
            (lambda c=c, p=p, w=w: submit(c, url, {"to_status": w, "reason": f"to {w}"}, p))
            for c, p, w in zip(clients, pages, wanted)
        ]
    )
    changes = list(
        ParticipantStatusChange.objects.filter(participant=participant, to_status__in=wanted).order_by("id")
    )
    participant.refresh_from_db()
    assert len(changes) == 1, f"both changes succeeded: {[(c.from_status, c.to_status) for c in changes]}"
    assert participant.status == changes[0].to_status


@pytest.mark.django_db(transaction=True)
def test_3_identical_parallel_ae_submissions_and_a_replay_create_one_ae(
    coordinator, dosed_participant, terms
):
    from tests.safety.conftest import api_data, base_values  # noqa: PLC0415

    body = api_data(base_values(terms["Nausea"]), dosed_participant.study_id)
    clients = [Client(), Client(), Client()]
    for c in clients:
        c.force_login(coordinator)

    def post(c: Client):
        return c.post(
            "/api/v1/adverse-events/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="ae-key-1"
        )

    _in_parallel(*[(lambda c=c: post(c)) for c in clients[:2]])
    post(clients[2])  # the retry of the same submission
    live = AdverseEvent.objects.filter(participant=dosed_participant, voided=False, term=terms["Nausea"])
    assert live.count() == 1, f"{live.count()} AEs from one submission"


def test_the_form_reader_submits_what_the_page_renders():
    html = (
        b'<form method="post"><input name="a" value="1"><input type="checkbox" name="c" checked>'
        b'<select name="s"><option value="x">X</option><option value="y" selected>Y</option></select>'
        b"<textarea name='t'>hi</textarea></form>"
    )
    assert form_values(html) == {"a": "1", "c": "on", "s": "y", "t": "hi"}
