"""A small strict ODM 1.3.2 importer for tests: applies a Transactional file by its TransactionTypes
(ODM 1.3.2 section 2.9) and reads a Snapshot, so the two can be compared.

Strict: Insert of something that exists, Update/Context/Remove of something that does not, an ItemData whose
value breaks its ItemDef (DataType, Length, SignificantDigits, CodeList, RangeCheck), an ItemGroupData without
an AuditRecord (Transactional) or an AuditRecord naming an unknown User or Location: each raises ReplayError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

NS = "http://www.cdisc.org/ns/odm/v1.3"
INTEGER = re.compile(r"^-?[0-9]+$")
FLOAT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
DOUBLE = re.compile(r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$|^-?inf$|^nan$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
PARTIAL_DATE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")
DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$"
)


class ReplayError(AssertionError):
    pass


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


@dataclass
class ItemDef:
    data_type: str
    length: int | None
    digits: int | None
    codes: set[str] | None
    ranges: list[tuple[str, Decimal]] = field(default_factory=list)


def item_defs(root: etree._Element) -> dict[str, ItemDef]:
    codelists = {
        cl.get("OID"): {c.get("CodedValue") for c in cl if c.tag in (q("CodeListItem"), q("EnumeratedItem"))}
        for cl in root.iter(q("CodeList"))
    }
    out = {}
    for idef in root.iter(q("ItemDef")):
        ref = idef.find(q("CodeListRef"))
        ranges = [
            (rc.get("Comparator"), Decimal(rc.find(q("CheckValue")).text))
            for rc in idef.findall(q("RangeCheck"))
        ]
        out[idef.get("OID")] = ItemDef(
            idef.get("DataType"),
            int(idef.get("Length")) if idef.get("Length") else None,
            int(idef.get("SignificantDigits")) if idef.get("SignificantDigits") else None,
            codelists[ref.get("CodeListOID")] if ref is not None else None,
            ranges,
        )
    return out


def check_value(oid: str, value: str, d: ItemDef) -> None:
    where = f"{oid}={value!r}"
    if d.data_type in ("integer", "float", "text", "string") and d.length is None:
        raise ReplayError(f"{oid}: {d.data_type} item without Length")
    if d.data_type == "integer":
        if not INTEGER.match(value) or len(value.lstrip("-")) > d.length:
            raise ReplayError(f"{where}: not an integer of at most {d.length} digits")
    elif d.data_type == "float":
        if not FLOAT.match(value):
            raise ReplayError(f"{where}: not a float")
        whole, _, frac = value.lstrip("-").partition(".")
        if len(whole + frac) > d.length or (d.digits is not None and len(frac) > d.digits):
            raise ReplayError(f"{where}: more than Length {d.length} / SignificantDigits {d.digits}")
    elif d.data_type == "double" and not DOUBLE.match(value):
        raise ReplayError(f"{where}: not a double")
    elif d.data_type == "date" and not DATE.match(value):
        raise ReplayError(f"{where}: not a date")
    elif d.data_type == "partialDate" and not PARTIAL_DATE.match(value):
        raise ReplayError(f"{where}: not a partial date")
    elif d.data_type == "datetime" and not DATETIME.match(value):
        raise ReplayError(f"{where}: not a datetime")
    elif d.data_type == "boolean" and value not in ("true", "false", "1", "0"):
        raise ReplayError(f"{where}: not a boolean")
    elif d.data_type in ("text", "string") and len(value) > d.length:
        raise ReplayError(f"{where}: longer than Length {d.length}")
    if d.codes is not None and value not in d.codes:
        raise ReplayError(f"{where}: not in its code list")
    for comparator, bound in d.ranges:
        try:
            number = Decimal(value)
        except InvalidOperation as exc:
            raise ReplayError(f"{where}: not a number for its RangeCheck") from exc
        if (comparator == "GE" and number < bound) or (comparator == "LE" and number > bound):
            raise ReplayError(f"{where}: fails RangeCheck {comparator} {bound}")


Key = tuple[str, str, str, str, str, str]  # subject, event, event repeat key, form, group, group repeat key


def snapshot_values(xml: bytes) -> dict[Key, dict[str, str]]:
    """Every ItemGroupData of a Snapshot -> its item values (values are checked against their ItemDefs)."""
    root = etree.fromstring(xml)
    if root.get("FileType") != "Snapshot":
        raise ReplayError("not a Snapshot")
    defs = item_defs(root)
    out: dict[Key, dict[str, str]] = {}
    for sd in root.iter(q("SubjectData")):
        for se in sd.iter(q("StudyEventData")):
            for fd in se.iter(q("FormData")):
                for ig in fd.iter(q("ItemGroupData")):
                    key = (
                        sd.get("SubjectKey"),
                        se.get("StudyEventOID"),
                        se.get("StudyEventRepeatKey") or "",
                        fd.get("FormOID"),
                        ig.get("ItemGroupOID"),
                        ig.get("ItemGroupRepeatKey") or "",
                    )
                    if key in out:
                        raise ReplayError(f"{key} twice in the Snapshot")
                    values = {}
                    for item in ig.iter(q("ItemData")):
                        check_value(item.get("ItemOID"), item.get("Value"), defs[item.get("ItemOID")])
                        values[item.get("ItemOID")] = item.get("Value")
                    out[key] = values
    return out


def _apply(container: dict, key: object, tx: str | None, where: str, make) -> object | None:
    """Apply one TransactionType to `container[key]`; returns the (possibly new) child, None when removed."""
    if tx is None:
        raise ReplayError(f"{where}: no TransactionType in a Transactional file")
    exists = key in container
    if tx == "Insert":
        if exists:
            raise ReplayError(f"{where}: Insert of an existing {key}")
        container[key] = make()
    elif tx in ("Update", "Context", "Remove") and not exists:
        raise ReplayError(f"{where}: {tx} of a missing {key}")
    elif tx == "Upsert" and not exists:
        container[key] = make()
    if tx == "Remove":
        del container[key]
        return None
    return container[key]


def replay(xml: bytes, into: dict | None = None) -> dict:
    """Apply a Transactional file (optionally onto the state of an earlier replay); returns the state."""
    root = etree.fromstring(xml)
    if root.get("FileType") != "Transactional":
        raise ReplayError("not a Transactional file")
    defs = item_defs(root)
    users = {u.get("OID") for u in root.iter(q("User"))}
    locations = {loc.get("OID") for loc in root.iter(q("Location"))}
    state: dict = {} if into is None else into
    for sd in root.iter(q("SubjectData")):
        subject = _apply(state, sd.get("SubjectKey"), sd.get("TransactionType"), "SubjectData", dict)
        if subject is None:
            continue
        for se in sd.findall(q("StudyEventData")):
            ekey = (se.get("StudyEventOID"), se.get("StudyEventRepeatKey") or "")
            event = _apply(subject, ekey, se.get("TransactionType"), "StudyEventData", dict)
            if event is None:
                continue
            for fd in se.findall(q("FormData")):
                form = _apply(event, fd.get("FormOID"), fd.get("TransactionType"), "FormData", dict)
                if form is None:
                    continue
                for ig in fd.findall(q("ItemGroupData")):
                    _audit_ok(ig, users, locations)
                    gkey = (ig.get("ItemGroupOID"), ig.get("ItemGroupRepeatKey") or "")
                    group = _apply(form, gkey, ig.get("TransactionType"), f"ItemGroupData {gkey}", dict)
                    if group is None:
                        continue
                    for item in ig.findall(q("ItemData")):
                        oid = item.get("ItemOID")
                        value = _apply(group, oid, item.get("TransactionType"), f"ItemData {oid}", str)
                        if value is None:
                            continue
                        if item.get("IsNull") == "Yes":
                            if item.get("Value") is not None:
                                raise ReplayError(f"{oid}: IsNull with a Value")
                            del group[oid]
                        else:
                            check_value(oid, item.get("Value"), defs[oid])
                            group[oid] = item.get("Value")
    return state


def _audit_ok(ig: etree._Element, users: set[str], locations: set[str]) -> None:
    audit = ig.find(q("AuditRecord"))
    if audit is None:
        raise ReplayError(f"ItemGroupData {ig.get('ItemGroupRepeatKey')} without an AuditRecord")
    if audit.find(q("UserRef")).get("UserOID") not in users:
        raise ReplayError("AuditRecord names an unknown User")
    if audit.find(q("LocationRef")).get("LocationOID") not in locations:
        raise ReplayError("AuditRecord names an unknown Location")


def flatten(state: dict) -> dict[Key, dict[str, str]]:
    """The replayed state in the Snapshot's shape (empty containers are not data)."""
    out = {}
    for subject, events in state.items():
        for (event, repeat), forms in events.items():
            for form, groups in forms.items():
                for (group, key), values in groups.items():
                    out[(subject, event, repeat, form, group, key)] = dict(values)
    return out
