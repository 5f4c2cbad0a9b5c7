"""The ODM Transactional file carries the monitoring status like the Snapshot: casebook sign-offs and AE
e-signatures as ODM `Signature` elements (SignatureDefs in AdminData, the casebook's content hash), queries with
their threads, SDV marks and locks as cd8 elements at ODM's extension points, in Context transactions after
the data. A file from the start carries the whole current status; an increment carries only the subjects and
records whose status changed after its cursor, with their complete current status (a voided sign-off or a
released lock is gone). Valid against the official ODM 1.3.2 schema with the cd8 extension, and against the
official schema alone once the cd8 elements are removed; the strict importer still replays it onto the Snapshot.

Read in the test's own open transaction: `feed_reads_this_transaction` puts the feed horizon past it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from exports import odm_stream
from monitoring import services as monitoring_services
from queries import services as query_services
from tests import factories
from tests.exports import odm_replay
from tests.exports.odm_monitoring_support import CD8, ODM, schema_errors
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("feed_reads_this_transaction")]

CREATED = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)


def _transactional(user, after=odm_stream.START) -> tuple[bytes, object]:
    stream, position = odm_stream.transactional(odm_stream.Scope(user, None), CREATED, after)
    return b"".join(stream), position


def _monitoring_subjects(root: etree._Element) -> list[etree._Element]:
    return [
        s
        for s in root.iter(f"{ODM}SubjectData")
        if s.findtext(f"{ODM}AuditRecord/{ODM}SourceID") == "export:monitoring"
    ]


def _cd8_by_record(root: etree._Element) -> dict[tuple[str, str], list[tuple]]:
    """(group OID, record id) -> sorted (tag, attributes, message texts) of the cd8 nodes of that record, wherever
    they sit (on an ItemData or at the end of the ItemGroupData)."""
    out: dict[tuple[str, str], list[tuple]] = {}
    for group in root.iter(f"{ODM}ItemGroupData"):
        nodes = [n for n in group.iter(f"{CD8}Query", f"{CD8}SDV", f"{CD8}Lock")]
        if nodes:
            key = (group.get("ItemGroupOID"), group.get("ItemGroupRepeatKey"))
            out.setdefault(key, []).extend(
                (n.tag, tuple(sorted(n.attrib.items())), tuple(m.text for m in n.iter(f"{CD8}Message")))
                for n in nodes
            )
    return {k: sorted(v) for k, v in out.items()}


def _signature_of(node: etree._Element) -> tuple[str, str, str]:
    sig = node.find(f"{ODM}Signature")
    return (
        sig.find(f"{ODM}UserRef").get("UserOID"),
        sig.find(f"{ODM}SignatureRef").get("SignatureOID"),
        sig.findtext(f"{ODM}CryptoBindingManifest") or "",
    )


def test_a_transactional_file_from_the_start_carries_signatures_and_monitoring_status_like_the_snapshot(
    make_ae, coordinator, investigator, monitor, data_manager, odm_schemas
):
    from safety import services as safety_services

    official, extended = odm_schemas
    ae = make_ae("Fatigue", grade=1)
    other = make_ae("Nausea")
    participant = ae.participant
    query = query_services.query_raise(
        ctx=factories.ctx_for(monitor),
        resource="adverse-events",
        object_id=ae.pk,
        field="grade",
        text="Grade 2?",
    )
    query_services.query_answer(ctx=factories.ctx_for(coordinator), query=query, text="Grade 1 per source")
    monitoring_services.sdv_mark(
        ctx=factories.ctx_for(monitor), resource="adverse-events", object_id=ae.pk, fields=["grade"]
    )
    monitoring_services.sdv_mark(
        ctx=factories.ctx_for(monitor), resource="adverse-events", object_id=other.pk
    )
    ae_signature = safety_services.aes_sign(
        ctx=factories.ctx_for(investigator),
        participant=participant,
        password=PASSWORD,
        meaning="complete_accurate",
    )
    casebook = monitoring_services.casebook_sign(
        ctx=factories.ctx_for(investigator), participant=participant, password=PASSWORD, meaning="complete"
    )
    monitoring_services.lock_apply(
        ctx=factories.ctx_for(data_manager),
        scope="record",
        kind="freeze",
        resource="adverse-events",
        object_id=other.pk,
        reason="Under review",
    )
    monitoring_services.lock_apply(
        ctx=factories.ctx_for(data_manager), scope="participant", object_id=participant.pk, reason="Cleaned"
    )

    body, _position = _transactional(data_manager)
    root = etree.fromstring(body)
    assert schema_errors(extended, root) == []
    defs = {d.get("OID"): d.findtext(f"{ODM}Meaning") for d in root.iter(f"{ODM}SignatureDef")}
    assert {"SD.CASEBOOK.COMPLETE", "SD.COMPLETE_ACCURATE"} <= set(defs)
    assert f"U.{investigator.username}" in {u.get("OID") for u in root.iter(f"{ODM}User")}

    [subject] = _monitoring_subjects(root)  # one Context SubjectData, after every data transaction
    assert subject.get("SubjectKey") == participant.study_id and subject.get("TransactionType") == "Context"
    assert root.find(f"{ODM}ClinicalData")[-1] is subject
    assert _signature_of(subject) == (
        f"U.{investigator.username}",
        "SD.CASEBOOK.COMPLETE",
        f"sha256:{casebook.content_hash} over every live record of the casebook",
    )
    [lock] = subject.findall(f"{CD8}Lock")
    assert (lock.get("Scope"), lock.get("Kind"), lock.get("Reason")) == ("participant", "lock", "Cleaned")
    groups = {g.get("ItemGroupRepeatKey"): g for g in subject.iter(f"{ODM}ItemGroupData")}
    assert set(groups) == {str(ae.pk), str(other.pk)}  # only the records with a status
    for group in groups.values():
        assert group.get("TransactionType") == "Context" and group.find(f"{ODM}ItemData") is None
        assert group[0].tag == f"{ODM}AuditRecord" and group[1].tag == f"{ODM}Signature"
        assert _signature_of(group)[:2] == (f"U.{investigator.username}", "SD.COMPLETE_ACCURATE")
    assert sorted(ae_signature.adverse_event_ids) == sorted([ae.pk, other.pk])
    [cd8_query] = groups[str(ae.pk)].findall(f"{CD8}Query")
    assert (cd8_query.get("ID"), cd8_query.get("Status"), cd8_query.get("Field")) == (
        str(query.pk),
        "answered",
        "grade",
    )
    assert [m.text for m in cd8_query.findall(f"{CD8}Message")] == ["Grade 2?", "Grade 1 per source"]
    assert [
        (n.tag, n.get("Field"), n.get("Kind")) for n in groups[str(other.pk)] if n.tag.startswith(CD8)
    ] == [
        (f"{CD8}SDV", None, None),
        (f"{CD8}Lock", None, "freeze"),
    ]

    # the same status as the Snapshot's, record by record, and the same casebook signature
    stream, _ = odm_stream.snapshot(odm_stream.Scope(data_manager, None), CREATED)
    snapshot = b"".join(stream)
    snap_root = etree.fromstring(snapshot)
    assert _cd8_by_record(root) == _cd8_by_record(snap_root) != {}
    snap_subject = next(
        s for s in snap_root.iter(f"{ODM}SubjectData") if s.get("SubjectKey") == participant.study_id
    )
    assert _signature_of(snap_subject) == _signature_of(subject)

    # the strict importer applies the Context transactions without a change of value
    assert odm_replay.flatten(odm_replay.replay(body)) == odm_replay.snapshot_values(snapshot)
    # the ODM extension rule: without the cd8 elements the official schema alone accepts the file
    assert schema_errors(official, root) != []
    for node in list(root.iter(f"{CD8}*")):
        node.getparent().remove(node)
    assert schema_errors(official, root) == []


def test_an_increment_carries_only_the_status_changed_since_its_cursor_and_drops_what_was_undone(
    make_ae, coordinator, investigator, monitor, data_manager, odm_schemas
):
    from safety import services as safety_services

    official, extended = odm_schemas
    ae = make_ae("Fatigue", grade=1)
    untouched = make_ae("Nausea")
    participant = ae.participant
    query = query_services.query_raise(
        ctx=factories.ctx_for(monitor),
        resource="adverse-events",
        object_id=ae.pk,
        field="grade",
        text="Grade 2?",
    )
    monitoring_services.sdv_mark(
        ctx=factories.ctx_for(monitor), resource="adverse-events", object_id=ae.pk, fields=["description"]
    )
    monitoring_services.sdv_mark(
        ctx=factories.ctx_for(monitor), resource="adverse-events", object_id=untouched.pk
    )
    monitoring_services.casebook_sign(
        ctx=factories.ctx_for(investigator), participant=participant, password=PASSWORD, meaning="reviewed"
    )
    lock = monitoring_services.lock_apply(
        ctx=factories.ctx_for(data_manager),
        scope="record",
        kind="freeze",
        resource="adverse-events",
        object_id=ae.pk,
        reason="Under review",
    )
    first, cursor = _transactional(data_manager)
    state = odm_replay.replay(first)

    nothing, same = _transactional(data_manager, cursor)
    assert same == cursor and _monitoring_subjects(etree.fromstring(nothing)) == []

    monitoring_services.lock_release(ctx=factories.ctx_for(data_manager), lock=lock, reason="Review done")
    safety_services.ae_update(  # clears the description's SDV mark and voids the casebook signature
        ctx=factories.ctx_for(coordinator), ae=ae, values={"description": "corrected text"}, reason="typo"
    )
    query_services.query_answer(ctx=factories.ctx_for(coordinator), query=query, text="Grade 1 per source")

    increment, _ = _transactional(data_manager, cursor)
    root = etree.fromstring(increment)
    assert schema_errors(extended, root) == []
    [subject] = _monitoring_subjects(root)
    assert subject.find(f"{ODM}Signature") is None  # the sign-off was voided by the change: none live
    assert subject.findall(f"{CD8}Lock") == []
    [group] = subject.iter(f"{ODM}ItemGroupData")  # the untouched AE is not repeated
    assert group.get("ItemGroupRepeatKey") == str(ae.pk)
    assert group.findall(f"{CD8}Lock") == []  # released: gone from the record's complete status
    [mark] = group.findall(f"{CD8}SDV")
    assert (mark.get("Field"), mark.get("Status")) == ("description", "changed")
    [cd8_query] = group.findall(f"{CD8}Query")
    assert cd8_query.get("Status") == "answered" and len(cd8_query.findall(f"{CD8}Message")) == 2

    odm_replay.replay(increment, into=state)
    stream, _ = odm_stream.snapshot(odm_stream.Scope(data_manager, None), CREATED)
    assert odm_replay.flatten(state) == odm_replay.snapshot_values(b"".join(stream))
    for node in list(root.iter(f"{CD8}*")):
        node.getparent().remove(node)
    assert schema_errors(official, root) == []


def test_a_study_lock_reaches_every_casebook_in_the_file_s_site_scope(
    make_ae, other_coordinator, data_manager, site_nl, site_be, odm_schemas
):
    from trial.models import Role

    _official, extended = odm_schemas
    both = factories.make_user("dora", (site_nl, Role.DATA_MANAGER), (site_be, Role.DATA_MANAGER))
    ae = make_ae("Fatigue")
    belgian = factories.enrol(other_coordinator, site_be)
    _first, cursor = _transactional(both)
    monitoring_services.lock_apply(ctx=factories.ctx_for(data_manager), scope="study", reason="Database lock")

    stream, _ = odm_stream.transactional(odm_stream.Scope(both, [site_nl.pk]), CREATED, cursor)
    root = etree.fromstring(b"".join(stream))
    assert schema_errors(extended, root) == []
    subjects = _monitoring_subjects(root)
    assert [s.get("SubjectKey") for s in subjects] == [ae.participant.study_id]  # not the Belgian casebook
    assert [(n.get("Scope"), n.get("Reason")) for n in subjects[0].findall(f"{CD8}Lock")] == [
        ("study", "Database lock")
    ]
    every, _ = _transactional(both, cursor)
    keys = {s.get("SubjectKey") for s in _monitoring_subjects(etree.fromstring(every))}
    assert keys == {ae.participant.study_id, belgian.study_id}
