"""CDISC ODM 1.3.2 documents (Snapshot and Transactional) from plain data; and parsing back. No Django."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

NS = "http://www.cdisc.org/ns/odm/v1.3"
VENDOR_NS = "urn:cd8pet:odm-extension:1"
STUDY_OID = "ST.CD8PET"
MDV_OID = "MDV.CD8PET.1"
EVENT_OID = "SE.TRIAL"


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def oid_part(text: str) -> str:
    return text.upper().replace("-", "_")


@dataclass(frozen=True)
class ItemSpec:
    name: str
    data_type: str
    codes: tuple[str, ...] = ()
    length: int | None = None
    significant_digits: int | None = None
    description: str = ""


@dataclass(frozen=True)
class FormSpec:
    resource: str
    title: str
    items: tuple[ItemSpec, ...]

    @property
    def form_oid(self) -> str:
        return f"F.{oid_part(self.resource)}"

    @property
    def group_oid(self) -> str:
        return f"IG.{oid_part(self.resource)}"

    def item_oid(self, name: str) -> str:
        return f"IT.{oid_part(self.resource)}.{oid_part(name)}"

    def codelist_oid(self, name: str) -> str:
        return f"CL.{oid_part(self.resource)}.{oid_part(name)}"


@dataclass(frozen=True)
class Record:
    """One row of a form for one subject: repeat key (record id) and item values as ODM strings."""

    subject: str
    resource: str
    key: str
    values: dict[str, str]


@dataclass(frozen=True)
class AuditInfo:
    user_oid: str
    location_oid: str
    at: dt.datetime
    reason: str
    source_id: str


@dataclass(frozen=True)
class Transaction:
    record: Record
    transaction_type: str  # Insert | Update | Remove
    audit: AuditInfo


@dataclass
class Admin:
    users: dict[str, str] = field(default_factory=dict)  # oid -> display name
    locations: dict[str, str] = field(default_factory=dict)  # oid -> name
    subject_location: dict[str, str] = field(default_factory=dict)  # subject key -> location oid


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _root(file_type: str, file_oid: str, created: dt.datetime) -> etree._Element:
    root = etree.Element(q("ODM"), nsmap={None: NS, "cd8": VENDOR_NS})
    root.set("FileType", file_type)
    root.set("FileOID", file_oid)
    root.set("CreationDateTime", _stamp(created))
    root.set("ODMVersion", "1.3.2")
    if file_type == "Snapshot":
        root.set("AsOfDateTime", _stamp(created))
    root.set("Originator", "CD8-PET Trial Data Manager")
    root.set("SourceSystem", "cd8pet-edc")
    return root


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, q(tag), {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _study(root: etree._Element, forms: list[FormSpec]) -> None:
    study = _sub(root, "Study", OID=STUDY_OID)
    gv = _sub(study, "GlobalVariables")
    _sub(gv, "StudyName", "CD8-PET")
    _sub(gv, "StudyDescription", "89Zr-Df-crefmirlimab CD8 PET imaging with anti-PD-1 treatment")
    _sub(gv, "ProtocolName", "CD8-PET")
    mdv = _sub(study, "MetaDataVersion", OID=MDV_OID, Name="CD8-PET export metadata v1")
    protocol = _sub(mdv, "Protocol")
    _sub(protocol, "StudyEventRef", StudyEventOID=EVENT_OID, OrderNumber="1", Mandatory="Yes")
    event = _sub(mdv, "StudyEventDef", OID=EVENT_OID, Name="Trial record", Repeating="No", Type="Common")
    for n, form in enumerate(forms, 1):
        _sub(event, "FormRef", FormOID=form.form_oid, OrderNumber=str(n), Mandatory="No")
    for form in forms:
        fd = _sub(mdv, "FormDef", OID=form.form_oid, Name=form.title, Repeating="No")
        _sub(fd, "ItemGroupRef", ItemGroupOID=form.group_oid, Mandatory="Yes")
    for form in forms:
        ig = _sub(mdv, "ItemGroupDef", OID=form.group_oid, Name=form.title, Repeating="Yes")
        for n, item in enumerate(form.items, 1):
            _sub(
                ig,
                "ItemRef",
                ItemOID=form.item_oid(item.name),
                OrderNumber=str(n),
                Mandatory="Yes" if item.name == "id" else "No",
                KeySequence="1" if item.name == "id" else None,
            )
    for form in forms:
        for item in form.items:
            attrs = {"OID": form.item_oid(item.name), "Name": item.name, "DataType": item.data_type}
            if item.length:
                attrs["Length"] = str(item.length)
            if item.significant_digits is not None:
                attrs["SignificantDigits"] = str(item.significant_digits)
            idef = _sub(mdv, "ItemDef", **attrs)
            if item.description:
                desc = _sub(idef, "Description")
                _sub(
                    desc,
                    "TranslatedText",
                    item.description,
                    **{"{http://www.w3.org/XML/1998/namespace}lang": "en"},
                )
            if item.codes:
                _sub(idef, "CodeListRef", CodeListOID=form.codelist_oid(item.name))
    for form in forms:
        for item in form.items:
            if not item.codes:
                continue
            cl_type = "integer" if item.data_type == "integer" else "text"
            cl = _sub(
                mdv,
                "CodeList",
                OID=form.codelist_oid(item.name),
                Name=f"{form.resource} {item.name}",
                DataType=cl_type,
            )
            for code in item.codes:
                _sub(cl, "EnumeratedItem", CodedValue=code)


def _admin(root: etree._Element, admin: Admin) -> None:
    if not admin.users and not admin.locations:
        return
    ad = _sub(root, "AdminData", StudyOID=STUDY_OID)
    for oid, name in sorted(admin.users.items()):
        user = _sub(ad, "User", OID=oid)
        _sub(user, "FullName", name)
    for oid, name in sorted(admin.locations.items()):
        loc = _sub(ad, "Location", OID=oid, Name=name, LocationType="Site")
        _sub(
            loc,
            "MetaDataVersionRef",
            StudyOID=STUDY_OID,
            MetaDataVersionOID=MDV_OID,
            EffectiveDate="2026-01-01",
        )


def _item_data(group: etree._Element, form: FormSpec, values: dict[str, str], tx: str | None) -> None:
    for item in form.items:
        value = values.get(item.name, "")
        if value == "":
            continue
        _sub(group, "ItemData", ItemOID=form.item_oid(item.name), TransactionType=tx, Value=value)


def snapshot(
    forms: list[FormSpec], records: Iterable[Record], admin: Admin, created: dt.datetime, file_oid: str
) -> bytes:
    """ODM Snapshot: metadata plus the current value of every item of every record, per subject."""
    root = _root("Snapshot", file_oid, created)
    _study(root, forms)
    _admin(root, admin)
    by_form = {f.resource: f for f in forms}
    clinical = _sub(root, "ClinicalData", StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID)
    grouped: dict[str, dict[str, list[Record]]] = {}
    for record in records:
        grouped.setdefault(record.subject, {}).setdefault(record.resource, []).append(record)
    for subject in sorted(grouped):
        sd = _sub(clinical, "SubjectData", SubjectKey=subject)
        if subject in admin.subject_location:
            _sub(sd, "SiteRef", LocationOID=admin.subject_location[subject])
        event = _sub(sd, "StudyEventData", StudyEventOID=EVENT_OID)
        for form in forms:
            rows = grouped[subject].get(form.resource)
            if not rows:
                continue
            fd = _sub(event, "FormData", FormOID=form.form_oid)
            for row in rows:
                group = _sub(fd, "ItemGroupData", ItemGroupOID=form.group_oid, ItemGroupRepeatKey=row.key)
                _item_data(group, by_form[row.resource], row.values, None)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def transactional(
    forms: list[FormSpec],
    transactions: Iterable[Transaction],
    admin: Admin,
    created: dt.datetime,
    file_oid: str,
) -> bytes:
    """ODM Transactional file: one ItemGroupData per change, with its AuditRecord, in change order."""
    root = _root("Transactional", file_oid, created)
    _study(root, forms)
    _admin(root, admin)
    by_form = {f.resource: f for f in forms}
    clinical = _sub(root, "ClinicalData", StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID)
    for t in transactions:
        form = by_form[t.record.resource]
        sd = _sub(clinical, "SubjectData", SubjectKey=t.record.subject, TransactionType="Update")
        if t.record.subject in admin.subject_location:
            _sub(sd, "SiteRef", LocationOID=admin.subject_location[t.record.subject])
        event = _sub(sd, "StudyEventData", StudyEventOID=EVENT_OID, TransactionType="Context")
        fd = _sub(event, "FormData", FormOID=form.form_oid, TransactionType="Context")
        group = _sub(
            fd,
            "ItemGroupData",
            ItemGroupOID=form.group_oid,
            ItemGroupRepeatKey=t.record.key,
            TransactionType=t.transaction_type,
        )
        audit = _sub(group, "AuditRecord")
        _sub(audit, "UserRef", UserOID=t.audit.user_oid)
        _sub(audit, "LocationRef", LocationOID=t.audit.location_oid)
        _sub(audit, "DateTimeStamp", _stamp(t.audit.at))
        if t.audit.reason:
            _sub(audit, "ReasonForChange", t.audit.reason)
        _sub(audit, "SourceID", t.audit.source_id)
        if t.transaction_type != "Remove":
            _item_data(group, form, t.record.values, "Upsert")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def parse_records(xml: bytes) -> dict[tuple[str, str, str], dict[str, str]]:
    """(subject, ItemGroupOID, repeat key) -> {ItemOID: Value} from the ClinicalData of a document."""
    root = etree.fromstring(xml)
    out: dict[tuple[str, str, str], dict[str, str]] = {}
    for sd in root.iter(q("SubjectData")):
        for group in sd.iter(q("ItemGroupData")):
            key = (sd.get("SubjectKey"), group.get("ItemGroupOID"), group.get("ItemGroupRepeatKey"))
            values = out.setdefault(key, {})
            for item in group.iter(q("ItemData")):
                values[item.get("ItemOID")] = item.get("Value")
    return out
