"""Structural validator for the ODM 1.3.2 elements this system emits (the XSD is not available offline).

Checks, per element: allowed children in ODM 1.3.2 schema order with cardinalities, required attributes,
enumerated attribute values, ItemData values against the ItemDef DataType, and OID references
(FormRef -> FormDef, ItemGroupRef -> ItemGroupDef, ItemRef -> ItemDef, CodeListRef -> CodeList,
ItemData -> an ItemRef of its ItemGroupDef, UserRef/LocationRef/SiteRef -> AdminData, CodedValue of
coded items). Pure (lxml only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from exports.odm import NS

UNBOUNDED = 10**9
YES_NO = ("Yes", "No")
DATA_TYPES = (
    "integer",
    "float",
    "date",
    "time",
    "datetime",
    "string",
    "text",
    "boolean",
    "double",
    "hexBinary",
    "base64Binary",
    "hexFloat",
    "base64Float",
    "partialDate",
    "partialTime",
    "partialDatetime",
    "durationDatetime",
    "intervalDatetime",
    "incompleteDatetime",
    "incompleteDate",
    "incompleteTime",
    "URI",
)
TX_TYPES = ("Insert", "Update", "Remove", "Upsert", "Context")


@dataclass(frozen=True)
class Spec:
    children: tuple[tuple[str, int, int], ...] = ()
    required: tuple[str, ...] = ()
    enums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    text: bool = False


AUDIT = ("AuditRecord", 0, 1)
SIGNATURE = ("Signature", 0, 1)
ANNOTATION = ("Annotation", 0, UNBOUNDED)
TX = (("TransactionType", TX_TYPES),)

SPECS: dict[str, Spec] = {
    "ODM": Spec(
        children=(
            ("Study", 0, UNBOUNDED),
            ("AdminData", 0, UNBOUNDED),
            ("ReferenceData", 0, UNBOUNDED),
            ("ClinicalData", 0, UNBOUNDED),
            ("Association", 0, UNBOUNDED),
        ),
        required=("FileType", "FileOID", "CreationDateTime"),
        enums=(
            ("FileType", ("Snapshot", "Transactional")),
            ("ODMVersion", ("1.2", "1.2.1", "1.3", "1.3.1", "1.3.2")),
            (
                "Granularity",
                (
                    "All",
                    "Metadata",
                    "AdminData",
                    "ReferenceData",
                    "AllClinicalData",
                    "SingleSite",
                    "SingleSubject",
                ),
            ),
        ),
    ),
    "Study": Spec(
        children=(("GlobalVariables", 1, 1), ("BasicDefinitions", 0, 1), ("MetaDataVersion", 0, UNBOUNDED)),
        required=("OID",),
    ),
    "GlobalVariables": Spec(
        children=(("StudyName", 1, 1), ("StudyDescription", 1, 1), ("ProtocolName", 1, 1))
    ),
    "StudyName": Spec(text=True),
    "StudyDescription": Spec(text=True),
    "ProtocolName": Spec(text=True),
    "MetaDataVersion": Spec(
        children=(
            ("Include", 0, 1),
            ("Protocol", 0, 1),
            ("StudyEventDef", 0, UNBOUNDED),
            ("FormDef", 0, UNBOUNDED),
            ("ItemGroupDef", 0, UNBOUNDED),
            ("ItemDef", 0, UNBOUNDED),
            ("CodeList", 0, UNBOUNDED),
            ("ImputationMethod", 0, UNBOUNDED),
            ("Presentation", 0, UNBOUNDED),
            ("ConditionDef", 0, UNBOUNDED),
            ("MethodDef", 0, UNBOUNDED),
        ),
        required=("OID", "Name"),
    ),
    "Protocol": Spec(
        children=(("Description", 0, 1), ("StudyEventRef", 0, UNBOUNDED), ("Alias", 0, UNBOUNDED))
    ),
    "StudyEventRef": Spec(required=("StudyEventOID", "Mandatory"), enums=(("Mandatory", YES_NO),)),
    "StudyEventDef": Spec(
        children=(("Description", 0, 1), ("FormRef", 0, UNBOUNDED), ("Alias", 0, UNBOUNDED)),
        required=("OID", "Name", "Repeating", "Type"),
        enums=(("Repeating", YES_NO), ("Type", ("Scheduled", "Unscheduled", "Common"))),
    ),
    "FormRef": Spec(required=("FormOID", "Mandatory"), enums=(("Mandatory", YES_NO),)),
    "FormDef": Spec(
        children=(
            ("Description", 0, 1),
            ("ItemGroupRef", 0, UNBOUNDED),
            ("ArchiveLayout", 0, UNBOUNDED),
            ("Alias", 0, UNBOUNDED),
        ),
        required=("OID", "Name", "Repeating"),
        enums=(("Repeating", YES_NO),),
    ),
    "ItemGroupRef": Spec(required=("ItemGroupOID", "Mandatory"), enums=(("Mandatory", YES_NO),)),
    "ItemGroupDef": Spec(
        children=(("Description", 0, 1), ("ItemRef", 0, UNBOUNDED), ("Alias", 0, UNBOUNDED)),
        required=("OID", "Name", "Repeating"),
        enums=(("Repeating", YES_NO),),
    ),
    "ItemRef": Spec(required=("ItemOID", "Mandatory"), enums=(("Mandatory", YES_NO),)),
    "ItemDef": Spec(
        children=(
            ("Description", 0, 1),
            ("Question", 0, 1),
            ("ExternalQuestion", 0, 1),
            ("MeasurementUnitRef", 0, UNBOUNDED),
            ("RangeCheck", 0, UNBOUNDED),
            ("CodeListRef", 0, 1),
            ("Role", 0, UNBOUNDED),
            ("Alias", 0, UNBOUNDED),
        ),
        required=("OID", "Name", "DataType"),
        enums=(("DataType", DATA_TYPES),),
    ),
    "Description": Spec(children=(("TranslatedText", 1, UNBOUNDED),)),
    "TranslatedText": Spec(text=True),
    "CodeListRef": Spec(required=("CodeListOID",)),
    "CodeList": Spec(
        children=(
            ("Description", 0, 1),
            ("CodeListItem", 0, UNBOUNDED),
            ("EnumeratedItem", 0, UNBOUNDED),
            ("ExternalCodeList", 0, 1),
            ("Alias", 0, UNBOUNDED),
        ),
        required=("OID", "Name", "DataType"),
        enums=(("DataType", ("integer", "float", "text", "string")),),
    ),
    "EnumeratedItem": Spec(children=(("Alias", 0, UNBOUNDED),), required=("CodedValue",)),
    "AdminData": Spec(
        children=(("User", 0, UNBOUNDED), ("Location", 0, UNBOUNDED), ("SignatureDef", 0, UNBOUNDED))
    ),
    "User": Spec(
        children=(
            ("LoginName", 0, 1),
            ("DisplayName", 0, 1),
            ("FullName", 0, 1),
            ("FirstName", 0, 1),
            ("LastName", 0, 1),
            ("Organization", 0, 1),
        ),
        required=("OID",),
    ),
    "FullName": Spec(text=True),
    "Location": Spec(
        children=(("MetaDataVersionRef", 1, UNBOUNDED),),
        required=("OID", "Name"),
        enums=(("LocationType", ("Sponsor", "Site", "CRO", "Lab", "Other")),),
    ),
    "MetaDataVersionRef": Spec(required=("StudyOID", "MetaDataVersionOID", "EffectiveDate")),
    "ClinicalData": Spec(
        children=(
            ("SubjectData", 0, UNBOUNDED),
            ("AuditRecords", 0, 1),
            ("Signatures", 0, 1),
            ("Annotations", 0, 1),
        ),
        required=("StudyOID", "MetaDataVersionOID"),
    ),
    "SubjectData": Spec(
        children=(
            AUDIT,
            SIGNATURE,
            ("InvestigatorRef", 0, 1),
            ("SiteRef", 0, 1),
            ANNOTATION,
            ("StudyEventData", 0, UNBOUNDED),
        ),
        required=("SubjectKey",),
        enums=TX,
    ),
    "SiteRef": Spec(required=("LocationOID",)),
    "StudyEventData": Spec(
        children=(AUDIT, SIGNATURE, ANNOTATION, ("FormData", 0, UNBOUNDED)),
        required=("StudyEventOID",),
        enums=TX,
    ),
    "FormData": Spec(
        children=(AUDIT, SIGNATURE, ("ArchiveLayoutRef", 0, 1), ANNOTATION, ("ItemGroupData", 0, UNBOUNDED)),
        required=("FormOID",),
        enums=TX,
    ),
    "ItemGroupData": Spec(
        children=(AUDIT, SIGNATURE, ANNOTATION, ("ItemData", 0, UNBOUNDED)),
        required=("ItemGroupOID",),
        enums=TX,
    ),
    "ItemData": Spec(
        children=(AUDIT, SIGNATURE, ("MeasurementUnitRef", 0, 1), ANNOTATION),
        required=("ItemOID",),
        enums=(*TX, ("IsNull", ("Yes",))),
    ),
    "AuditRecord": Spec(
        children=(
            ("UserRef", 1, 1),
            ("LocationRef", 1, 1),
            ("DateTimeStamp", 1, 1),
            ("ReasonForChange", 0, 1),
            ("SourceID", 0, 1),
        )
    ),
    "UserRef": Spec(required=("UserOID",)),
    "LocationRef": Spec(required=("LocationOID",)),
    "DateTimeStamp": Spec(text=True),
    "ReasonForChange": Spec(text=True),
    "SourceID": Spec(text=True),
}

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^(NaN|INF|-INF)$")
VALUE_CHECKS = {
    "integer": _INTEGER.match,
    "float": _FLOAT.match,
    "double": _FLOAT.match,
    "date": _DATE.match,
    "datetime": _DATETIME.match,
    "partialDate": _PARTIAL_DATE.match,
    "boolean": lambda v: v in ("true", "false", "1", "0"),
}


class OdmInvalid(ValueError):
    """The document breaks ODM 1.3.2 structure; `errors` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} ODM problem(s): " + "; ".join(errors[:5]))
        self.errors = errors


def _local(el: etree._Element) -> str | None:
    if not isinstance(el.tag, str):
        return None
    ns, _, name = el.tag[1:].partition("}")
    return name if ns == NS else None


def _path(el: etree._Element) -> str:
    parts = []
    while el is not None:
        oid = el.get("OID") or el.get("ItemOID") or el.get("SubjectKey") or el.get("ItemGroupOID")
        parts.append(f"{_local(el)}[{oid}]" if oid else str(_local(el)))
        el = el.getparent()
    return "/".join(reversed(parts))


def _check_sequence(el: etree._Element, spec: Spec, errors: list[str]) -> None:
    names = [_local(c) for c in el if isinstance(c.tag, str) and _local(c) is not None]
    i = 0
    for name, low, high in spec.children:
        count = 0
        while i < len(names) and names[i] == name:
            count += 1
            i += 1
        if count < low:
            errors.append(f"{_path(el)}: needs at least {low} {name}")
        if count > high:
            errors.append(f"{_path(el)}: at most {high} {name}, found {count}")
    if i < len(names):
        allowed = [c[0] for c in spec.children]
        where = "out of order" if names[i] in allowed else "not allowed"
        errors.append(f"{_path(el)}: child {names[i]} {where} here")


def _check_element(el: etree._Element, errors: list[str]) -> None:
    name = _local(el)
    if name is None:
        return  # vendor extension namespace: allowed anywhere by ODM's extension mechanism
    spec = SPECS.get(name)
    if spec is None:
        errors.append(f"{_path(el)}: unknown element {name}")
        return
    for attr in spec.required:
        if not el.get(attr):
            errors.append(f"{_path(el)}: missing required attribute {attr}")
    for attr, values in spec.enums:
        if el.get(attr) is not None and el.get(attr) not in values:
            errors.append(f"{_path(el)}: {attr}={el.get(attr)!r} not one of {', '.join(values)}")
    _check_sequence(el, spec, errors)
    for child in el:
        if isinstance(child.tag, str):
            _check_element(child, errors)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _check_references(root: etree._Element, errors: list[str]) -> None:
    defs = {
        kind: {e.get("OID"): e for e in root.iter(_q(kind))}
        for kind in ("StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef", "CodeList", "User", "Location")
    }
    refs = (
        ("StudyEventRef", "StudyEventOID", "StudyEventDef"),
        ("FormRef", "FormOID", "FormDef"),
        ("ItemGroupRef", "ItemGroupOID", "ItemGroupDef"),
        ("ItemRef", "ItemOID", "ItemDef"),
        ("CodeListRef", "CodeListOID", "CodeList"),
        ("UserRef", "UserOID", "User"),
        ("LocationRef", "LocationOID", "Location"),
        ("SiteRef", "LocationOID", "Location"),
        ("StudyEventData", "StudyEventOID", "StudyEventDef"),
        ("FormData", "FormOID", "FormDef"),
        ("ItemGroupData", "ItemGroupOID", "ItemGroupDef"),
    )
    for tag, attr, kind in refs:
        for el in root.iter(_q(tag)):
            if el.get(attr) and el.get(attr) not in defs[kind]:
                errors.append(f"{_path(el)}: {attr} {el.get(attr)} has no {kind}")
    for oid, idef in defs["ItemDef"].items():
        ref = idef.find(_q("CodeListRef"))
        if ref is not None and ref.get("CodeListOID") in defs["CodeList"]:
            cl_type = defs["CodeList"][ref.get("CodeListOID")].get("DataType")
            item_type = idef.get("DataType")
            if (cl_type in ("integer", "float")) != (item_type in ("integer", "float")):
                errors.append(f"ItemDef[{oid}]: DataType {item_type} does not match its CodeList ({cl_type})")
    group_items = {
        oid: {r.get("ItemOID") for r in g.iter(_q("ItemRef"))} for oid, g in defs["ItemGroupDef"].items()
    }
    for group in root.iter(_q("ItemGroupData")):
        allowed = group_items.get(group.get("ItemGroupOID"), set())
        for item in group.iter(_q("ItemData")):
            _check_item_value(item, allowed, defs, errors)


def _check_item_value(item, allowed: set, defs: dict, errors: list[str]) -> None:
    oid = item.get("ItemOID")
    if oid not in allowed:
        errors.append(f"{_path(item)}: ItemOID {oid} is not in its ItemGroupDef")
        return
    idef = defs["ItemDef"].get(oid)
    value = item.get("Value")
    if idef is None or value is None:
        return
    check = VALUE_CHECKS.get(idef.get("DataType"))
    if check and not check(value):
        errors.append(f"{_path(item)}: {value!r} is not a valid {idef.get('DataType')}")
    ref = idef.find(_q("CodeListRef"))
    if ref is not None and ref.get("CodeListOID") in defs["CodeList"]:
        codes = {c.get("CodedValue") for c in defs["CodeList"][ref.get("CodeListOID")]}
        if value not in codes:
            errors.append(f"{_path(item)}: {value!r} is not in CodeList {ref.get('CodeListOID')}")


def _check_file_type(root: etree._Element, errors: list[str]) -> None:
    if root.get("ODMVersion") != "1.3.2":
        errors.append(f"ODM: ODMVersion must be 1.3.2, found {root.get('ODMVersion')!r}")
    if root.get("CreationDateTime") and not _DATETIME.match(root.get("CreationDateTime")):
        errors.append("ODM: CreationDateTime is not an ISO 8601 date-time")
    transactional = root.get("FileType") == "Transactional"
    for sd in root.iter(_q("SubjectData")):
        has_tx = sd.get("TransactionType") is not None
        if transactional and not has_tx:
            errors.append(f"{_path(sd)}: a Transactional file needs TransactionType on SubjectData")
        if not transactional and has_tx:
            errors.append(f"{_path(sd)}: a Snapshot file carries no TransactionType")
    for stamp in root.iter(_q("DateTimeStamp")):
        if not _DATETIME.match(stamp.text or ""):
            errors.append(f"{_path(stamp)}: {stamp.text!r} is not an ISO 8601 date-time")


def validate(xml: bytes) -> None:
    """Raise OdmInvalid listing every structural problem; return None for a valid document."""
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise OdmInvalid([f"not well-formed XML: {exc}"]) from exc
    errors: list[str] = []
    if _local(root) != "ODM":
        raise OdmInvalid([f"root element must be ODM in namespace {NS}"])
    _check_element(root, errors)
    _check_references(root, errors)
    _check_file_type(root, errors)
    if errors:
        raise OdmInvalid(errors)
