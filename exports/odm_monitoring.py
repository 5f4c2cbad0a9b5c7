"""Monitoring state in the ODM files: casebook sign-offs as ODM `Signature` elements of the SubjectData,
queries, source data verification marks and freezes/locks in the cd8 vendor-extension namespace.

Snapshot: every subject's and live record's current state. Transactional: `changed` finds, from the audit
entries of the file's window (after its cursor, below the feed horizon), the subjects and records whose sign-off,
AE e-signature, queries, SDV marks or locks changed; the file then carries their complete current state
(exports.odm_stream, "monitoring status" at the end of ClinicalData).

ODM 1.3.2 has no `xs:any` for foreign elements in ClinicalData; its extension points are the empty
`*ElementExtension` groups at the end of SubjectData, ItemGroupData and ItemData, which a vendor schema
redefines (exports/schemas/odm-1.3.2-cd8/, placed next to the official XSD files, which stay unchanged). The
cd8 elements are written exactly there, so the file validates against the official schema with that
extension, and against the official schema alone once the cd8 elements are removed (the ODM rule for vendor
extensions). A reader that does not know the namespace ignores it (the strict replayer does).

The monitoring and queries apps sit above `exports` in the layers, so their models are looked up by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet
from lxml import etree

from exports.odm_meta import Form
from exports.odm_xml import VENDOR_NS, el, stamp, top

CASEBOOK_SIGNATURE_PREFIX = "SD.CASEBOOK."
RecordKey = tuple[str, int]  # (export resource name, record id)


def ext(tag: str) -> str:
    return f"{{{VENDOR_NS}}}{tag}"


def _model(app_label: str, name: str) -> Any:
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def casebook_meanings() -> list[tuple[str, str]]:
    """(SignatureDef OID, meaning) of every casebook sign-off meaning."""
    model = _model("monitoring", "CasebookSignature")
    if model is None:
        return []
    choices = model._meta.get_field("meaning").choices or []
    return [(f"{CASEBOOK_SIGNATURE_PREFIX}{value.upper()}", str(label)) for value, label in choices]


def casebook_signers(participants: Any) -> dict[str, str]:
    """User OID -> printed name of the investigators whose live casebook signatures are exported."""
    model = _model("monitoring", "CasebookSignature")
    if model is None:
        return {}
    qs = model.objects.filter(voided=False, participant__in=participants)
    return {f"U.{u}": name for u, name in qs.values_list("signer__username", "printed_name").distinct()}


@dataclass
class State:
    """The monitoring state of one chunk of subjects, keyed for the writer."""

    signatures: dict[int, dict[str, Any]] = field(default_factory=dict)  # participant id -> live signature
    subject_locks: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    record_locks: dict[RecordKey, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    queries: dict[RecordKey, list[Any]] = field(default_factory=lambda: defaultdict(list))
    sdv: dict[RecordKey, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


def load(participant_ids: list[int]) -> State:
    state = State()
    _load_signatures(state, participant_ids)
    _load_locks(state, participant_ids)
    _load_queries(state, participant_ids)
    _load_sdv(state, participant_ids)
    return state


def _load_signatures(state: State, ids: list[int]) -> None:
    model = _model("monitoring", "CasebookSignature")
    if model is None:
        return
    qs = model.objects.filter(participant_id__in=ids, voided=False).order_by("signed_at", "id")
    for sig in qs.values(
        "participant_id",
        "signer__username",
        "participant__site__code",
        "meaning",
        "signed_at",
        "content_hash",
    ):
        state.signatures[sig["participant_id"]] = sig  # the latest live one wins


def _load_locks(state: State, ids: list[int]) -> None:
    model = _model("monitoring", "DataLock")
    if model is None:
        return
    from trial.models import Participant

    sites = dict(Participant.objects.filter(id__in=ids).values_list("id", "site_id"))
    by_site: dict[int, list[int]] = defaultdict(list)
    for pid, site_id in sites.items():
        by_site[site_id].append(pid)
    qs = model.objects.filter(released_at__isnull=True).order_by("created_at", "id")
    for lock in qs.values(
        "scope",
        "kind",
        "site_id",
        "participant_id",
        "resource",
        "object_id",
        "reason",
        "created_at",
        "created_by__username",
    ):
        if lock["scope"] == "study":
            covered = ids
        elif lock["scope"] == "site":
            covered = by_site.get(lock["site_id"], [])
        elif lock["scope"] == "participant":
            covered = [lock["participant_id"]] if lock["participant_id"] in sites else []
        else:
            state.record_locks[(lock["resource"], lock["object_id"])].append(lock)
            continue
        for pid in covered:
            state.subject_locks[pid].append(lock)


def _load_queries(state: State, ids: list[int]) -> None:
    model = _model("queries", "Query")
    if model is None:
        return
    qs = model.objects.filter(participant_id__in=ids).prefetch_related("messages").order_by("raised_at", "id")
    for query in qs:
        state.queries[(query.resource, query.object_id)].append(query)


def _load_sdv(state: State, ids: list[int]) -> None:
    model = _model("monitoring", "SdvMark")
    if model is None:
        return
    seen: set[tuple[str, int, str]] = set()
    qs = model.objects.filter(participant_id__in=ids).order_by(
        "resource", "object_id", "field", "-verified_at"
    )
    for mark in qs.values(
        "resource",
        "object_id",
        "field",
        "record_version",
        "verified_by__username",
        "verified_at",
        "cleared_at",
        "cleared_reason",
    ):
        key = (mark["resource"], mark["object_id"], mark["field"])
        if key not in seen:  # the latest mark of each record or field is its SDV status
            seen.add(key)
            state.sdv[(mark["resource"], mark["object_id"])].append(mark)


# ---- the Transactional window ---------------------------------------------------------------------------------

# The audited models whose changes alter the monitoring status a Transactional file carries.
WINDOW_MODELS = (
    ("monitoring", "casebooksignature"),
    ("monitoring", "datalock"),
    ("monitoring", "sdvmark"),
    ("queries", "query"),  # every step of a query (raise, answer, close, reopen) audits the query itself
    ("safety", "aesignature"),
)
ID_CHUNK = 5000


@dataclass
class Window:
    """What changed in a Transactional file's window: participant id -> record keys whose queries, SDV marks,
    record locks or AE e-signature changed (an empty set: only the casebook's sign-off or casebook, site or
    study locks changed)."""

    records: dict[int, set[RecordKey]] = field(default_factory=lambda: defaultdict(set))

    def touch(self, participant_id: int | None, key: RecordKey | None = None) -> None:
        if participant_id is None:
            return
        keys = self.records[participant_id]
        if key is not None:
            keys.add((key[0], int(key[1])))


def window_entries(entries: QuerySet) -> QuerySet:
    """`entries` (audit entries of the window) narrowed to the monitoring models."""
    return entries.filter(reduce(or_, (Q(app_label=a, model=m) for a, m in WINDOW_MODELS)))


def changed(entries: QuerySet, participants: dict[int, int]) -> Window:
    """The window's monitoring changes, for the participants in scope (participant id -> site id)."""
    window = Window()
    rows = window_entries(entries).order_by().values_list("app_label", "model", "object_id").distinct()
    ids: dict[tuple[str, str], list[int]] = defaultdict(list)
    for app_label, model_name, object_id in rows.iterator(ID_CHUNK):
        if object_id.isdigit():
            ids[(app_label, model_name)].append(int(object_id))
    for (app_label, model_name), pks in ids.items():
        model = _model(app_label, model_name)
        if model is None:
            continue
        for start in range(0, len(pks), ID_CHUNK):
            _touch(
                window, model_name, model.objects.filter(pk__in=pks[start : start + ID_CHUNK]), participants
            )
    for pid in [p for p in window.records if p not in participants]:
        del window.records[pid]
    return window


def _touch(window: Window, model_name: str, qs: QuerySet, participants: dict[int, int]) -> None:
    if model_name == "casebooksignature":
        for pid in qs.values_list("participant_id", flat=True):
            window.touch(pid)
    elif model_name == "aesignature":
        for pid, ae_ids in qs.values_list("participant_id", "adverse_event_ids"):
            for ae_id in ae_ids or []:
                window.touch(pid, ("adverse-events", ae_id))
    elif model_name in ("sdvmark", "query"):
        for pid, resource, object_id in qs.values_list("participant_id", "resource", "object_id"):
            window.touch(pid, (resource, object_id))
    else:  # datalock: a record's, a casebook's, every casebook of a site or of the study (released or live)
        for scope, pid, site_id, resource, object_id in qs.values_list(
            "scope", "participant_id", "site_id", "resource", "object_id"
        ):
            if scope == "record":
                window.touch(pid, (resource, object_id))
            elif scope == "participant":
                window.touch(pid)
            else:
                covered: Iterable[int] = (
                    participants if scope == "study" else [p for p, s in participants.items() if s == site_id]
                )
                for covered_pid in covered:
                    window.touch(covered_pid)


# ---- writing ---------------------------------------------------------------------------------------------------


def casebook_signature(sig: dict[str, Any]) -> etree._Element:
    """The SubjectData's ODM Signature: the investigator's casebook sign-off, bound to its content hash."""
    signature = top("Signature")
    etree.SubElement(signature, el("UserRef"), UserOID=f"U.{sig['signer__username']}")
    etree.SubElement(signature, el("LocationRef"), LocationOID=f"LOC.{sig['participant__site__code']}")
    etree.SubElement(
        signature, el("SignatureRef"), SignatureOID=f"{CASEBOOK_SIGNATURE_PREFIX}{sig['meaning'].upper()}"
    )
    etree.SubElement(signature, el("DateTimeStamp")).text = stamp(sig["signed_at"])
    manifest = etree.SubElement(signature, el("CryptoBindingManifest"))
    manifest.text = f"sha256:{sig['content_hash']} over every live record of the casebook"
    return signature


def subject_extension(state: State, participant_id: int) -> list[etree._Element]:
    """cd8:Lock elements for the freezes and locks covering the casebook (its own, its site's, the study's)."""
    return [_lock(lock) for lock in state.subject_locks.get(participant_id, [])]


def signers(participant_ids: list[int]) -> dict[str, str]:
    """User OID -> printed name of the live casebook and AE signatures of these participants."""
    out: dict[str, str] = {}
    for app_label, name in (("monitoring", "CasebookSignature"), ("safety", "AeSignature")):
        model = _model(app_label, name)
        if model is None:
            continue
        for start in range(0, len(participant_ids), ID_CHUNK):
            qs = model.objects.filter(
                voided=False, participant_id__in=participant_ids[start : start + ID_CHUNK]
            )
            out |= {f"U.{u}": n for u, n in qs.values_list("signer__username", "printed_name").distinct()}
    return out


def annotate_group(group: etree._Element, form: Form, record_id: int, state: State) -> None:
    """Append the record's queries, SDV marks and locks: on the ItemData of the field they concern when it is
    in the group, otherwise at the end of the ItemGroupData (after every ItemData)."""
    key = (form.name, int(record_id))
    oids = {item.name: item.oid for item in form.items}
    items = {node.get("ItemOID"): node for node in group.iterchildren(el("ItemData"))}
    tail: list[etree._Element] = []

    def place(node: etree._Element, field_name: str) -> None:
        target = items.get(oids.get(field_name, ""))
        if target is not None:
            target.append(node)
        else:
            tail.append(node)

    for query in state.queries.get(key, []):
        place(_query(query), query.field)
    for mark in state.sdv.get(key, []):
        place(_sdv(mark), mark["field"])
    tail.extend(_lock(lock) for lock in state.record_locks.get(key, []))
    group.extend(tail)


def _node(tag: str, attrs: dict[str, Any]) -> etree._Element:
    clean = {
        k: stamp(v) if hasattr(v, "astimezone") else str(v) for k, v in attrs.items() if v not in (None, "")
    }
    return etree.Element(ext(tag), clean, nsmap={"cd8": VENDOR_NS})


def _query(query: Any) -> etree._Element:
    node = _node(
        "Query",
        {
            "ID": query.pk,
            "Field": query.field,
            "Status": query.status,
            "Origin": query.origin,
            "RuleCode": query.rule_code,
            "RaisedBy": query.raised_by_display,
            "RaisedDateTime": query.raised_at,
            "AnsweredDateTime": query.answered_at,
            "ClosedDateTime": query.closed_at,
        },
    )
    for message in query.messages.all():
        step = etree.SubElement(
            node,
            ext("Message"),
            {"Kind": message.kind, "Author": message.author_display, "DateTime": stamp(message.at)},
        )
        step.text = message.text
    return node


def _sdv(mark: dict[str, Any]) -> etree._Element:
    return _node(
        "SDV",
        {
            "Field": mark["field"],
            "Status": "changed" if mark["cleared_at"] else "verified",
            "RecordVersion": mark["record_version"],
            "VerifiedBy": mark["verified_by__username"],
            "VerifiedDateTime": mark["verified_at"],
            "ClearedDateTime": mark["cleared_at"],
            "ClearedReason": mark["cleared_reason"],
        },
    )


def _lock(lock: dict[str, Any]) -> etree._Element:
    return _node(
        "Lock",
        {
            "Kind": lock["kind"],
            "Scope": lock["scope"],
            "Reason": lock["reason"],
            "LockedBy": lock["created_by__username"],
            "DateTimeStamp": lock["created_at"],
        },
    )
