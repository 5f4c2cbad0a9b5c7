"""ODM 1.3.2 Snapshot and Transactional exports: structural validation, broken documents, round trip."""

from __future__ import annotations

import pytest
from lxml import etree

from exports import odm, odm_data
from exports.odm_schema import OdmInvalid, validate
from exports.resources import load_all
from tests.exports.builders import trial_with_aes

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(coordinator, site_nl):
    return trial_with_aes(coordinator, site_nl)


def Q(tag):
    return f"{{{odm.NS}}}{tag}"


def test_snapshot_validates_and_round_trips_every_stored_value(data, sponsor):
    xml = odm_data.snapshot_xml(sponsor)
    validate(xml)
    root = etree.fromstring(xml)
    assert root.get("FileType") == "Snapshot" and root.get("ODMVersion") == "1.3.2"
    mdv = root.find(f"{Q('Study')}/{Q('MetaDataVersion')}")
    for tag in ("StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef", "CodeList"):
        assert mdv.find(Q(tag)) is not None, tag
    parsed = odm.parse_records(xml)
    specs = {f.resource: f for f in odm_data.forms()}
    checked = 0
    for resource in odm_data.subject_resources():
        spec = specs[resource.name]
        types = {i.name: i.data_type for i in spec.items}
        for obj in resource.model.objects.all():
            subject = obj.study_id if resource.name == "participants" else obj.participant.study_id
            values = parsed[(subject, spec.group_oid, str(obj.pk))]
            for col in resource.columns:
                stored = obj
                for part in (col.path or col.name).split("__"):
                    stored = getattr(stored, part) if stored is not None else None
                if col.expr is not None:
                    continue
                back = odm_data.typed(values.get(spec.item_oid(col.name)), types[col.name])
                if stored in ("", None):
                    assert back is None, (resource.name, col.name)
                elif isinstance(stored, dict | list):
                    assert back == odm_data.odm_value(stored, "text")
                else:
                    assert back == stored, (resource.name, col.name, back, stored)
                checked += 1
    assert checked > 500
    ae2 = data["aes"][1]
    item = parsed[(ae2.participant.study_id, "IG.ADVERSE_EVENTS", str(ae2.pk))]
    assert len(item["IT.ADVERSE_EVENTS.ONSET_DATE"]) == 7  # partial date kept partial (YYYY-MM)


def test_transactional_file_carries_every_change_with_its_audit_record(data, sponsor):
    xml = odm_data.transactional_xml(sponsor)
    validate(xml)
    root = etree.fromstring(xml)
    groups = list(root.iter(Q("ItemGroupData")))
    assert len(groups) == odm_data.audit_entry_count(sponsor)
    kinds = {g.get("TransactionType") for g in groups}
    assert kinds == {"Insert", "Update", "Remove"}
    for group in groups:
        audit = group.find(Q("AuditRecord"))
        assert [etree.QName(c).localname for c in audit][:3] == ["UserRef", "LocationRef", "DateTimeStamp"]
        assert audit.find(Q("SourceID")).text.startswith("audit:")
    removed = [g for g in groups if g.get("TransactionType") == "Remove"]
    assert removed[0].find(f"{Q('AuditRecord')}/{Q('ReasonForChange')}").text == "duplicate"
    updates = [
        g for g in groups if g.get("TransactionType") == "Update" and g.get("ItemGroupOID") == "IG.VISITS"
    ]
    planned = [
        i.get("Value")
        for g in updates
        for i in g.iter(Q("ItemData"))
        if i.get("ItemOID") == "IT.VISITS.PLANNED_DATE"
    ]
    visit = data["participants"][0].visits.order_by("id")[6]
    assert visit.planned_date.isoformat() in planned
    users = {u.get("OID") for u in root.iter(Q("User"))}
    assert "U.carla" in users


def _break(xml: bytes, how) -> bytes:
    root = etree.fromstring(xml)
    how(root)
    return etree.tostring(root)


def _first(root, tag):
    return next(root.iter(Q(tag)))


BREAKAGES = {
    "admin before study": (lambda r: r.insert(0, _first(r, "AdminData")), "out of order"),
    "ItemData without ItemOID": (
        lambda r: _first(r, "ItemData").attrib.pop("ItemOID"),
        "missing required attribute ItemOID",
    ),
    "unknown item": (lambda r: _first(r, "ItemData").set("ItemOID", "IT.NOPE"), "is not in its ItemGroupDef"),
    "bad date": (
        lambda r: next(
            i for i in r.iter(Q("ItemData")) if i.get("ItemOID") == "IT.CONSENTS.CONSENT_DATE"
        ).set("Value", "yesterday"),
        "is not a valid date",
    ),
    "code not in list": (
        lambda r: next(i for i in r.iter(Q("ItemData")) if i.get("ItemOID") == "IT.PARTICIPANTS.SEX").set(
            "Value", "X"
        ),
        "is not in CodeList",
    ),
    "wrong FileType": (lambda r: r.set("FileType", "Delta"), "FileType='Delta'"),
    "unknown element": (
        lambda r: etree.SubElement(_first(r, "FormData"), Q("Bogus")),
        "unknown element Bogus",
    ),
    "dangling FormRef": (lambda r: _first(r, "FormRef").set("FormOID", "F.GONE"), "has no FormDef"),
    "snapshot with TransactionType": (
        lambda r: _first(r, "SubjectData").set("TransactionType", "Insert"),
        "Snapshot file carries no TransactionType",
    ),
    "GlobalVariables missing": (
        lambda r: _first(r, "Study").remove(_first(r, "GlobalVariables")),
        "needs at least 1 GlobalVariables",
    ),
}


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_each_broken_snapshot_is_caught(data, sponsor, name):
    xml = odm_data.snapshot_xml(sponsor)
    how, message = BREAKAGES[name]
    with pytest.raises(OdmInvalid) as info:
        validate(_break(xml, how))
    assert any(message in e for e in info.value.errors), info.value.errors


TX_BREAKAGES = {
    "no TransactionType": (
        lambda r: _first(r, "SubjectData").attrib.pop("TransactionType"),
        "needs TransactionType",
    ),
    "AuditRecord order": (lambda r: _first(r, "AuditRecord").append(_first(r, "UserRef")), "out of order"),
    "AuditRecord without user": (
        lambda r: _first(r, "AuditRecord").remove(_first(r, "UserRef")),
        "needs at least 1 UserRef",
    ),
    "unknown user": (lambda r: _first(r, "UserRef").set("UserOID", "U.ghost"), "has no User"),
    "bad stamp": (lambda r: setattr(_first(r, "DateTimeStamp"), "text", "last tuesday"), "not an ISO 8601"),
    "bad TransactionType": (lambda r: _first(r, "ItemGroupData").set("TransactionType", "Delete"), "Delete"),
}


@pytest.mark.parametrize("name", sorted(TX_BREAKAGES))
def test_each_broken_transactional_file_is_caught(data, sponsor, name):
    xml = odm_data.transactional_xml(sponsor)
    how, message = TX_BREAKAGES[name]
    with pytest.raises(OdmInvalid) as info:
        validate(_break(xml, how))
    assert any(message in e for e in info.value.errors), info.value.errors


def test_not_xml_and_foreign_root_are_refused():
    with pytest.raises(OdmInvalid, match="not well-formed"):
        validate(b"<ODM")
    with pytest.raises(OdmInvalid, match="root element"):
        validate(b"<ODM xmlns='urn:other'/>")


def test_site_scoped_user_gets_only_their_subjects(data, other_coordinator, site_be):
    from tests import factories

    be = factories.enrol(other_coordinator, site_be)
    parsed = odm.parse_records(odm_data.snapshot_xml(other_coordinator))
    assert {k[0] for k in parsed} == {be.study_id}
    assert "adverse-events" in load_all()
