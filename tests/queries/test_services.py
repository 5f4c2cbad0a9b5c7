"""Manual queries: who may raise, answer (and correct through the write gate), close and reopen; every step audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from queries import services
from queries.models import MessageKind, QueryStatus
from tests import factories
from trial.models import AuditEntry, Role
from trial.write_gate import RecordLocked

pytestmark = pytest.mark.django_db


def _raise(user, ae, field="grade", text="Source says grade 2: please check."):
    return services.query_raise(
        ctx=factories.ctx_for(user), resource="adverse-events", object_id=ae.pk, field=field, text=text
    )


def test_monitor_raises_site_corrects_monitor_closes_reopens(ae, monitor, coordinator):
    query = _raise(monitor, ae)
    assert (query.status, query.participant_id, query.site_id) == (
        QueryStatus.OPEN,
        ae.participant_id,
        ae.participant.site_id,
    )
    assert query.raised_by == monitor

    answered = services.query_answer(
        ctx=factories.ctx_for(coordinator), query=query, text="Chart re-read: grade 2.", new_value=2
    )
    ae.refresh_from_db()
    assert ae.grade == 2 and ae.version == 2
    assert answered.status == QueryStatus.ANSWERED and answered.answered_at is not None
    ae_entry = AuditEntry.objects.filter(
        app_label="safety", model="adverseevent", object_id=str(ae.pk)
    ).last()
    assert ae_entry.changes["grade"] == [1, 2]
    assert ae_entry.reason == f"Query {query.pk}: Chart re-read: grade 2."
    corrected = answered.messages.get(kind=MessageKind.CORRECTED)
    assert (corrected.old_value, corrected.new_value, corrected.author) == (1, 2, coordinator)

    with pytest.raises(PermissionDenied):
        services.query_close(ctx=factories.ctx_for(coordinator), query=query)
    closed = services.query_close(ctx=factories.ctx_for(monitor), query=query, text="Verified.")
    assert closed.status == QueryStatus.CLOSED and closed.closed_at is not None
    with pytest.raises(services.QueryStateError):
        services.query_answer(ctx=factories.ctx_for(coordinator), query=query, text="again")
    reopened = services.query_reopen(ctx=factories.ctx_for(monitor), query=query, text="Onset also wrong?")
    assert (reopened.status, reopened.reopen_count, reopened.closed_at) == (QueryStatus.OPEN, 1, None)
    kinds = list(reopened.messages.values_list("kind", flat=True))
    assert kinds == ["raised", "corrected", "closed", "reopened"]
    steps = AuditEntry.objects.filter(app_label="queries", model="query", object_id=str(query.pk))
    assert [e.action for e in steps] == ["create", "update", "update", "update"]
    assert [e.changes.get("status") for e in steps] == [
        [None, "open"],
        ["open", "answered"],
        ["answered", "closed"],
        ["closed", "open"],
    ]
    assert steps[0].user_id == monitor.pk and steps[0].participant_id == ae.participant_id
    assert steps[0].changes["value"] == [None, 1]


def test_only_monitor_or_data_manager_raise_and_only_site_staff_answer(
    ae, coordinator, sponsor, data_manager, monitor
):
    for user in (coordinator, sponsor):
        with pytest.raises(PermissionDenied):
            _raise(user, ae)
    query = _raise(data_manager, ae)
    for user in (monitor, data_manager, sponsor):
        with pytest.raises(PermissionDenied):
            services.query_answer(ctx=factories.ctx_for(user), query=query, text="I answer")
    # A monitor of another site does not even learn that the record exists.
    other = factories.make_user("moritz", (factories.make_site("BE01"), Role.MONITOR))
    with pytest.raises(ValidationError) as exc:
        _raise(other, ae)
    assert "object_id" in exc.value.message_dict
    # Unknown resource, id or field: a ValidationError naming the bad key.
    for resource, object_id, field, key in [
        ("adverse-event", ae.pk, "grade", "resource"),
        ("adverse-events", None, "grade", "object_id"),
        ("adverse-events", 10**12, "grade", "object_id"),
        ("adverse-events", ae.pk, "gradee", "field"),
    ]:
        with pytest.raises(ValidationError) as exc:
            services.query_raise(
                ctx=factories.ctx_for(monitor), resource=resource, object_id=object_id, field=field, text="?"
            )
        assert key in exc.value.message_dict


def test_a_correction_breaking_the_ae_rules_stores_nothing(ae, monitor, coordinator):
    query = _raise(monitor, ae)
    with pytest.raises(ValidationError) as exc:  # Fatigue has no grade 4 in CTCAE v5.0
        services.query_answer(ctx=factories.ctx_for(coordinator), query=query, text="grade 4", new_value=4)
    assert "grade" in " ".join(exc.value.message_dict["new_value"])
    with pytest.raises(ValidationError) as exc:
        services.query_answer(ctx=factories.ctx_for(coordinator), query=query, text="x", new_value="two")
    assert "new_value" in exc.value.message_dict
    query.refresh_from_db()
    ae.refresh_from_db()
    assert (query.status, query.messages.count(), ae.grade, ae.version) == (QueryStatus.OPEN, 1, 1, 1)
    # Identity and link fields are queried but never rewritten in an answer.
    on_participant = _raise(monitor, ae, field="participant")
    with pytest.raises(ValidationError) as exc:
        services.query_answer(
            ctx=factories.ctx_for(coordinator), query=on_participant, text="x", new_value="NL01-002"
        )
    assert "new_value" in exc.value.message_dict


def test_a_lock_refuses_the_correction_but_not_the_query(ae, monitor, coordinator, lock_everything):
    lock_everything.append(True)
    query = _raise(monitor, ae)  # queries can still be raised on locked data
    with pytest.raises(RecordLocked, match="locked"):
        services.query_answer(ctx=factories.ctx_for(coordinator), query=query, text="grade 2", new_value=2)
    query.refresh_from_db()
    ae.refresh_from_db()
    assert (query.status, query.messages.count(), ae.grade) == (QueryStatus.OPEN, 1, 1)
    answered = services.query_answer(
        ctx=factories.ctx_for(coordinator), query=query, text="Grade 1 is right."
    )
    assert answered.status == QueryStatus.ANSWERED
