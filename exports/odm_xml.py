"""ODM 1.3.2 elements: the Study metadata, AdminData, item groups and audit records (lxml)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from lxml import etree

from exports import odm_meta
from exports.odm_meta import Form, Item
from exports.resources.base import path_nullable
from trial import access

NS = "http://www.cdisc.org/ns/odm/v1.3"
VENDOR_NS = "urn:cd8pet:odm-extension:1"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LEGAL_REASON = (
    "Electronic signature under 21 CFR Part 11 (11.50, 11.200): bound to the record version signed."
)


def el(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def top(tag: str, attrs: dict[str, str] | None = None, **kwargs: str) -> etree._Element:
    """An element written on its own into the stream (default namespace, no ns0: prefixes)."""
    return etree.Element(el(tag), attrs or {}, nsmap={None: NS}, **kwargs)


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: Any) -> etree._Element:
    node = etree.SubElement(parent, el(tag), {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        node.text = text
    return node


def translated(parent: etree._Element, tag: str, text: str) -> etree._Element:
    node = sub(parent, tag)
    sub(node, "TranslatedText", text, **{XML_LANG: "en"})
    return node


def stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _event_forms(forms: tuple[Form, ...]) -> tuple[list[Form], list[Form]]:
    """Forms that may sit in the subject-level event, and forms that may sit in a visit."""
    subject, visit = [], []
    for form in forms:
        if form.visit_path:
            visit.append(form)
        if not form.visit_path or (
            form.visit_path != "id" and path_nullable(form.resource.model, form.visit_path)
        ):
            subject.append(form)
    return subject, visit


def study_element(forms: tuple[Form, ...]) -> etree._Element:
    from trial.models import VisitDefinition

    study = top("Study", OID=odm_meta.STUDY_OID)
    gv = sub(study, "GlobalVariables")
    sub(gv, "StudyName", "CD8-PET")
    sub(gv, "StudyDescription", "89Zr-Df-crefmirlimab CD8 PET imaging before and during anti-PD-1 therapy")
    sub(gv, "ProtocolName", "CD8-PET")
    basic = sub(study, "BasicDefinitions")
    for oid, symbol in sorted(odm_meta.units().items()):
        unit = sub(basic, "MeasurementUnit", OID=oid, Name=symbol)
        translated(unit, "Symbol", symbol)
    mdv = sub(study, "MetaDataVersion", OID=odm_meta.MDV_OID, Name="CD8-PET export metadata v2")
    events = odm_meta.study_events()
    scheduled = set(VisitDefinition.objects.values_list("code", flat=True))
    protocol = sub(mdv, "Protocol")
    sub(protocol, "StudyEventRef", StudyEventOID=odm_meta.SUBJECT_EVENT, OrderNumber=1, Mandatory="Yes")
    for n, (code, _) in enumerate(events, 2):
        sub(protocol, "StudyEventRef", StudyEventOID=odm_meta.event_oid(code), OrderNumber=n, Mandatory="No")
    subject_forms, visit_forms = _event_forms(forms)
    event = sub(
        mdv, "StudyEventDef", OID=odm_meta.SUBJECT_EVENT, Name="Subject", Repeating="No", Type="Common"
    )
    translated(event, "Description", "Subject-level records (not bound to a visit).")
    for n, form in enumerate(subject_forms, 1):
        sub(event, "FormRef", FormOID=form.form_oid, OrderNumber=n, Mandatory="No")
    for code, name in events:
        kind = "Scheduled" if code in scheduled else "Unscheduled"
        event = sub(mdv, "StudyEventDef", OID=odm_meta.event_oid(code), Name=name, Repeating="Yes", Type=kind)
        translated(event, "Description", f"Visit {code}; the repeat key is the visit's record id.")
        for n, form in enumerate(visit_forms, 1):
            sub(event, "FormRef", FormOID=form.form_oid, OrderNumber=n, Mandatory="No")
    for form in forms:
        fd = sub(
            mdv, "FormDef", OID=form.form_oid, Name=form.resource.description or form.name, Repeating="No"
        )
        sub(fd, "ItemGroupRef", ItemGroupOID=form.group_oid, Mandatory="Yes")
    for form in forms:
        ig = sub(mdv, "ItemGroupDef", OID=form.group_oid, Name=form.name, Repeating="Yes")
        for n, item in enumerate(form.items, 1):
            sub(ig, "ItemRef", ItemOID=item.oid, OrderNumber=n, Mandatory="No")
    for form in forms:
        for item in form.items:
            _item_def(mdv, item)
    for form in forms:
        for item in form.items:
            if item.codes:
                cl = sub(
                    mdv,
                    "CodeList",
                    OID=item.codelist_oid,
                    Name=f"{form.name} {item.name}",
                    DataType="integer" if item.data_type == "integer" else "text",
                )
                for code, decode in item.codes:
                    entry = sub(cl, "CodeListItem", CodedValue=code)
                    translated(entry, "Decode", decode)
    return study


def _item_def(mdv: etree._Element, item: Item) -> None:
    idef = sub(
        mdv,
        "ItemDef",
        OID=item.oid,
        Name=item.name,
        DataType=item.data_type,
        Length=item.length,
        SignificantDigits=item.digits,
    )
    translated(idef, "Question", item.question)
    if item.unit:
        sub(idef, "MeasurementUnitRef", MeasurementUnitOID=item.unit[0])
    for comparator, value in item.ranges:
        check = sub(idef, "RangeCheck", Comparator=comparator, SoftHard="Hard")
        sub(check, "CheckValue", value)
    if item.codes:
        sub(idef, "CodeListRef", CodeListOID=item.codelist_oid)


def admin_element(
    scope: Any, users: dict[str, str], signatures: list[tuple[str, str]] | None = None
) -> etree._Element:
    """Users, locations and a SignatureDef for each AE signature meaning plus `signatures` (OID, meaning)."""
    from safety.models import SignatureMeaning

    admin = top("AdminData", StudyOID=odm_meta.STUDY_OID)
    for oid, name in sorted(users.items()):
        user = sub(admin, "User", OID=oid)
        sub(user, "FullName", name)
    sites = access.sites_visible_to(scope.user)
    if scope.site_ids is not None:
        sites = sites.filter(pk__in=scope.site_ids)
    locations = [(f"LOC.{code}", name) for code, name in sites.order_by("code").values_list("code", "name")]
    for oid, name in [*locations, ("LOC.SPONSOR", "Sponsor / central data management")]:
        loc = sub(
            admin, "Location", OID=oid, Name=name, LocationType="Site" if oid != "LOC.SPONSOR" else "Sponsor"
        )
        sub(
            loc,
            "MetaDataVersionRef",
            StudyOID=odm_meta.STUDY_OID,
            MetaDataVersionOID=odm_meta.MDV_OID,
            EffectiveDate="2026-01-01",
        )
    ae_meanings = [(f"SD.{value.upper()}", str(label)) for value, label in SignatureMeaning.choices]
    for oid, label in [*ae_meanings, *(signatures or [])]:
        sig = sub(admin, "SignatureDef", OID=oid, Methodology="Electronic")
        sub(sig, "Meaning", label)
        sub(sig, "LegalReason", LEGAL_REASON)
    return admin


def item_group(
    form: Form, pk: Any, values: dict[str, str], tx: str | None, cleared: dict[str, str] | None = None
) -> etree._Element:
    """An ItemGroupData with its ItemData in item order (IsNull for cleared items)."""
    attrs = {"ItemGroupOID": form.group_oid, "ItemGroupRepeatKey": str(pk)}
    if tx:
        attrs["TransactionType"] = tx
    group = top("ItemGroupData", attrs)
    if tx == "Remove":
        return group
    item_tx = {"Insert": "Insert", "Update": "Upsert"}.get(tx or "")
    for item in form.items:
        if item.oid in values:
            node = sub(group, "ItemData", ItemOID=item.oid, Value=values[item.oid])
        elif cleared and item.oid in cleared:
            node = sub(group, "ItemData", ItemOID=item.oid, IsNull="Yes")
        else:
            continue
        if item_tx:
            node.set("TransactionType", item_tx)
    return group


def audit_record(audit: dict[str, Any]) -> etree._Element:
    record = etree.Element(el("AuditRecord"))
    sub(record, "UserRef", UserOID=audit["user"])
    sub(record, "LocationRef", LocationOID=audit["location"])
    sub(record, "DateTimeStamp", stamp(audit["at"]))
    if audit.get("reason"):
        sub(record, "ReasonForChange", audit["reason"])
    sub(record, "SourceID", audit["source"])
    return record
