"""The ODM Snapshot carries the casebook sign-off as the SubjectData's ODM Signature, and queries, SDV marks and
locks in the cd8 vendor extension, at ODM's extension points: valid against the official ODM 1.3.2 schema
with the cd8 extension schema (official files unchanged), valid against the official schema alone once the
cd8 elements are removed; the Transactional file (carrying the same status) still replays onto the Snapshot."""

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

pytestmark = pytest.mark.django_db


def _body(stream) -> bytes:
    return b"".join(stream)


def test_snapshot_carries_casebook_signature_queries_sdv_and_locks_at_odm_extension_points(
    make_ae, investigator, monitor, data_manager, odm_schemas
):
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
    monitoring_services.sdv_mark(
        ctx=factories.ctx_for(monitor), resource="adverse-events", object_id=ae.pk, fields=["grade"]
    )
    monitoring_services.sdv_mark(
        ctx=factories.ctx_for(monitor), resource="adverse-events", object_id=other.pk
    )
    signature = monitoring_services.casebook_sign(
        ctx=factories.ctx_for(investigator), participant=participant, password=PASSWORD, meaning="complete"
    )
    monitoring_services.lock_apply(
        ctx=factories.ctx_for(data_manager), scope="participant", object_id=participant.pk, reason="Cleaned"
    )
    monitoring_services.lock_apply(
        ctx=factories.ctx_for(data_manager),
        scope="record",
        kind="freeze",
        resource="adverse-events",
        object_id=other.pk,
        reason="Under review",
    )
    created = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    stream, _position = odm_stream.snapshot(odm_stream.Scope(data_manager, None), created)
    snapshot = _body(stream)
    root = etree.fromstring(snapshot)
    assert schema_errors(extended, root) == []

    subject = next(s for s in root.iter(f"{ODM}SubjectData") if s.get("SubjectKey") == participant.study_id)
    sig = subject.find(f"{ODM}Signature")
    assert sig is not None and sig.getnext().tag == f"{ODM}SiteRef"
    assert sig.find(f"{ODM}SignatureRef").get("SignatureOID") == "SD.CASEBOOK.COMPLETE"
    assert sig.find(f"{ODM}UserRef").get("UserOID") == f"U.{investigator.username}"
    assert signature.content_hash in sig.findtext(f"{ODM}CryptoBindingManifest")
    defs = {d.get("OID"): d.findtext(f"{ODM}Meaning") for d in root.iter(f"{ODM}SignatureDef")}
    assert "SD.CASEBOOK.COMPLETE" in defs and "SD.COMPLETE_ACCURATE" in defs
    assert f"U.{investigator.username}" in {u.get("OID") for u in root.iter(f"{ODM}User")}
    [lock] = subject.findall(f"{CD8}Lock")
    assert (lock.get("Scope"), lock.get("Kind"), lock.get("Reason")) == ("participant", "lock", "Cleaned")
    assert subject.index(lock) == len(subject) - 1  # after every StudyEventData: the extension point

    groups = {
        g.get("ItemGroupRepeatKey"): g
        for g in subject.iter(f"{ODM}ItemGroupData")
        if g.get("ItemGroupOID") == "IG.ADVERSE_EVENTS"
    }
    grade = next(i for i in groups[str(ae.pk)].iter(f"{ODM}ItemData") if i.get("ItemOID").endswith(".GRADE"))
    [cd8_query] = grade.findall(f"{CD8}Query")
    assert (cd8_query.get("ID"), cd8_query.get("Status"), cd8_query.get("Field")) == (
        str(query.pk),
        "open",
        "grade",
    )
    assert [m.text for m in cd8_query.findall(f"{CD8}Message")] == ["Grade 2?"]
    [sdv_field] = grade.findall(f"{CD8}SDV")
    assert (sdv_field.get("Status"), sdv_field.get("VerifiedBy")) == ("verified", monitor.username)
    whole = groups[str(other.pk)]
    assert [(n.tag, n.get("Field"), n.get("Scope")) for n in whole if n.tag.startswith(CD8)] == [
        (f"{CD8}SDV", None, None),
        (f"{CD8}Lock", None, "record"),
    ]
    assert whole[-1].get("Kind") == "freeze"

    # Strip the vendor namespace: the official schema alone accepts what is left (the ODM extension rule).
    assert schema_errors(official, root) != []
    for node in list(root.iter(f"{CD8}*")):
        node.getparent().remove(node)
    assert schema_errors(official, root) == []

    stream, _position = odm_stream.transactional(odm_stream.Scope(data_manager, None), created)
    transactional = _body(stream)
    # it carries the monitoring status too (test_odm_transactional_monitoring.py)
    stripped = etree.fromstring(transactional)
    assert schema_errors(extended, stripped) == []
    for node in list(stripped.iter(f"{CD8}*")):
        node.getparent().remove(node)
    assert schema_errors(official, stripped) == []
    state = odm_replay.replay(transactional)
    assert odm_replay.flatten(state) == odm_replay.snapshot_values(snapshot)


def test_a_changed_value_shows_changed_since_verification_and_voids_the_casebook_signature(
    make_ae, coordinator, investigator, monitor, data_manager, odm_schemas
):
    from safety import services as safety_services

    _official, extended = odm_schemas
    ae = make_ae("Fatigue")
    monitoring_services.sdv_mark(
        ctx=factories.ctx_for(monitor), resource="adverse-events", object_id=ae.pk, fields=["description"]
    )
    monitoring_services.casebook_sign(
        ctx=factories.ctx_for(investigator), participant=ae.participant, password=PASSWORD, meaning="reviewed"
    )
    safety_services.ae_update(
        ctx=factories.ctx_for(coordinator), ae=ae, values={"description": "corrected text"}, reason="typo"
    )
    stream, _position = odm_stream.snapshot(odm_stream.Scope(data_manager, None), dt.datetime.now(dt.UTC))
    root = etree.fromstring(_body(stream))
    assert schema_errors(extended, root) == []
    subject = next(
        s for s in root.iter(f"{ODM}SubjectData") if s.get("SubjectKey") == ae.participant.study_id
    )
    assert subject.find(f"{ODM}Signature") is None  # voided by the change
    [mark] = list(subject.iter(f"{CD8}SDV"))
    assert mark.get("Status") == "changed" and mark.get("ClearedDateTime")
