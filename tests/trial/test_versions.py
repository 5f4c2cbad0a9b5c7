"""Forked histories and lost updates in trial records: status changes and visits lock their row and name
the version they read (real PostgreSQL, committed transactions, real threads)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.threads import in_threads
from trial import services
from trial.models import AuditEntry, Participant, ParticipantStatus, ParticipantStatusChange, Role, Visit
from trial.versioning import VersionConflict

pytestmark = pytest.mark.django_db
THREADED = pytest.mark.django_db(transaction=True)  # real threads need committed rows
S = ParticipantStatus


@pytest.fixture
def on_treatment(participant, coordinator) -> Participant:
    return services.participant_change_status(
        ctx=factories.ctx_for(coordinator),
        participant=participant,
        to_status=S.ON_TREATMENT,
        date=timezone.localdate(),
        reason="First anti-PD-1 dose",
    )


@pytest.fixture
def bert(site_nl):
    return factories.make_user("bert", (site_nl, Role.SITE_COORDINATOR), first_name="Bert", last_name="Baker")


def change_status(user: Any, participant_pk: int, to_status: str, version: int) -> Callable[[], Any]:
    stale = Participant.objects.get(pk=participant_pk)  # read when the user opened the form
    return lambda: services.participant_change_status(
        ctx=factories.ctx_for(user),
        participant=stale,
        to_status=to_status,
        date=timezone.localdate(),
        reason=f"to {to_status}",
        expected_version=version,
    )


@THREADED
def test_two_simultaneous_status_changes_one_wins_and_the_history_does_not_fork(
    on_treatment, coordinator, bert
):
    version = on_treatment.version
    results = in_threads(
        change_status(coordinator, on_treatment.pk, S.FOLLOW_UP, version),
        change_status(bert, on_treatment.pk, S.WITHDRAWN, version),
    )

    winners = [r for r in results if isinstance(r, Participant)]
    losers = [r for r in results if isinstance(r, VersionConflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    on_treatment.refresh_from_db()
    assert on_treatment.status == winners[0].status
    assert f"Status: On treatment → {on_treatment.get_status_display()}" in losers[0].message_text
    history = list(ParticipantStatusChange.objects.filter(participant=on_treatment).order_by("id"))
    assert [h.from_status for h in history[1:]] == [h.to_status for h in history[:-1]]  # one chain, no fork
    assert [h.from_status for h in history].count(S.ON_TREATMENT) == 1


@THREADED
def test_without_a_version_the_second_change_starts_from_the_first_ones_status(
    on_treatment, coordinator, bert
):
    """Even a caller that names no version is serialised by the row lock: the history stays one chain."""
    stale_a, stale_b = (
        Participant.objects.get(pk=on_treatment.pk),
        Participant.objects.get(pk=on_treatment.pk),
    )

    def change(user, stale, to_status):
        return lambda: services.participant_change_status(
            ctx=factories.ctx_for(user),
            participant=stale,
            to_status=to_status,
            date=timezone.localdate(),
            reason="r",
        )

    in_threads(change(coordinator, stale_a, S.FOLLOW_UP), change(bert, stale_b, S.FOLLOW_UP))
    history = list(ParticipantStatusChange.objects.filter(participant=on_treatment).order_by("id"))
    assert [h.to_status for h in history].count(S.FOLLOW_UP) == 1
    assert [h.from_status for h in history[1:]] == [h.to_status for h in history[:-1]]


def test_the_status_page_refuses_a_stale_form_with_409_naming_the_change(
    client_for, on_treatment, coordinator, bert
):
    url = reverse("participant_status", args=[on_treatment.pk])
    a = client_for(coordinator)
    page = a.get(url).content.decode()
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    services.participant_change_status(
        ctx=factories.ctx_for(bert),
        participant=on_treatment,
        to_status=S.WITHDRAWN,
        date=timezone.localdate(),
        reason="consent withdrawn",
    )
    r = a.post(
        url,
        {
            "to_status": S.FOLLOW_UP,
            "date": timezone.localdate().isoformat(),
            "reason": "EOT",
            "version": version,
        },
    )
    assert r.status_code == 409
    text = r.content.decode()
    assert "Withdrawn" in text or "withdrawn" in text
    assert "bert" in text and "EOT" in text
    on_treatment.refresh_from_db()
    assert on_treatment.status == S.WITHDRAWN


@THREADED
def test_two_simultaneous_visit_recordings_of_one_version_cannot_both_succeed(participant, coordinator, bert):
    visit = participant.visits.filter(is_study_procedure=True).order_by("planned_date").first()
    day = visit.planned_date

    def record(user, reason):
        stale = Visit.objects.get(pk=visit.pk)
        return lambda: services.visit_record(
            ctx=factories.ctx_for(user),
            visit=stale,
            status="done",
            actual_date=day,
            reason=reason,
            expected_version=1,
        )

    results = in_threads(record(coordinator, "first"), record(bert, "second"))
    assert sum(isinstance(r, Visit) for r in results) == 1
    assert sum(isinstance(r, VersionConflict) for r in results) == 1
    visit.refresh_from_db()
    assert visit.version == 2
    assert AuditEntry.objects.filter(model="visit", object_id=str(visit.pk), action="update").count() == 1


def test_version_rises_on_update_void_and_restore(participant, coordinator):
    ctx = factories.ctx_for(coordinator)
    visit = participant.visits.order_by("planned_date").last()
    services.visit_replan(ctx=ctx, visit=visit, planned_date=visit.planned_date, reason="same date")
    assert visit.version == 1  # nothing changed: nothing written, no version step
    services.visit_replan(
        ctx=ctx,
        visit=visit,
        planned_date=visit.planned_date.replace(day=1),
        reason="moved",
        expected_version=1,
    )
    services.record_void(ctx=ctx, instance=visit, reason="wrong visit", expected_version=2)
    services.record_restore(ctx=ctx, instance=visit, reason="right visit after all", expected_version=3)
    visit.refresh_from_db()
    assert visit.version == 4
    entries = AuditEntry.objects.filter(model="visit", object_id=str(visit.pk)).exclude(action="create")
    assert [e.changes["version"] for e in entries] == [[1, 2], [2, 3], [3, 4]]


def test_a_stale_void_form_is_refused_and_a_bad_version_is_a_form_error(client_for, participant, coordinator):
    visit = participant.visits.order_by("planned_date").last()
    url = reverse("record_void", args=["trial", "visit", visit.pk])
    a = client_for(coordinator)
    services.visit_replan(
        ctx=factories.ctx_for(coordinator),
        visit=visit,
        planned_date=visit.planned_date.replace(day=1),
        reason="m",
    )
    assert a.post(url, {"reason": "duplicate", "version": "1"}).status_code == 409
    assert a.post(url, {"reason": "duplicate", "version": "abc"}).status_code == 400
    visit.refresh_from_db()
    assert not visit.voided


def test_a_version_that_is_not_a_number_is_a_validation_error_not_a_500(participant, coordinator):
    with pytest.raises(ValidationError, match="whole number"):
        services.record_edit(
            ctx=factories.ctx_for(coordinator),
            instance=participant,
            capability="enrolment",
            data={"tumour_type": "NSCLC"},
            reason="r",
            expected_version="two",
        )
