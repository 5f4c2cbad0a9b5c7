"""CDISC ODM 1.3.2 Snapshot and Transactional files, written as a stream (lxml incremental writing over
chunked querysets: memory stays flat whatever the size of the trial).

Snapshot: the live value of every item of every live record, per subject > visit (StudyEventData with the
visit as repeat key) > form > item group (the record id as repeat key), with the AE e-signatures and the
casebook sign-offs (ODM Signature), and queries, SDV marks and locks in the cd8 vendor extension
(exports.odm_monitoring).

Transactional: the audit trail replayed record by record (parents first: subjects are inserted by the
participants form), each change an ItemGroupData with its AuditRecord: Insert for a new (or restored) record,
Update with only the changed items (IsNull for a cleared value), Remove for a void, Remove + Insert when a
record moves to another visit. Values reached through related tables are rebuilt from the record's foreign
keys; what the audit entries cannot carry (computed columns) is sent last as an Update "current values at
export", so a strict importer that applies the file ends with exactly the Snapshot's live values.

Then the monitoring status changed in the file's window (exports.odm_monitoring.changed: casebook sign-offs,
AE e-signatures, queries with their threads, SDV marks, freezes and locks, from their audit entries after the
cursor and below the horizon; the whole status for a file from the start). For each subject touched, one
SubjectData TransactionType="Context" whose AuditRecord has SourceID "export:monitoring" and which carries the
casebook's complete current status: its live sign-off as ODM Signature (SignatureDef SD.CASEBOOK.<MEANING>, the
content hash in CryptoBindingManifest; none when no live sign-off) and every live casebook, site and study
freeze/lock as cd8:Lock (none: none live). Inside it, for each live record touched, an ItemGroupData
TransactionType="Context" (no ItemData: values do not change) with an AuditRecord, the AE's live e-signature
as ODM Signature, and the record's complete current cd8:Query (with its cd8:Message thread), cd8:SDV and
cd8:Lock elements at the ItemGroupData extension point, the field named by their Field attribute (a record
touched whose list is empty: its queries, marks or locks are gone, e.g. a released lock). Valid against the
official schema with the cd8 extension (exports/schemas/odm-1.3.2-cd8), and against the official schema alone
once the cd8 elements are removed.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.db.models import BigIntegerField, F, Q, QuerySet
from django.db.models.functions import Cast
from lxml import etree

from exports import changes, odm_meta, odm_monitoring, selectors
from exports.cursor import START, Position
from exports.odm_meta import Form
from exports.odm_values import Resolver, row_values
from exports.odm_xml import (
    NS,
    VENDOR_NS,
    admin_element,
    audit_record,
    el,
    item_group,
    stamp,
    study_element,
    top,
)
from trial import access
from trial.models import AuditAction, Participant, Visit

FLUSH_BYTES = 64 * 1024
SUBJECT_CHUNK = 50
RECONCILE_REASON = "Values current at export (derived or reached through related records)"
MONITORING_REASON = (
    "Monitoring status current at export: sign-off, e-signatures, queries, SDV marks and locks changed since "
    "the cursor"
)


@dataclass(frozen=True)
class Scope:
    user: Any
    site_ids: list[int] | None  # None: every site


class _Sink:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return out


def _participants(scope: Scope) -> QuerySet:
    qs = access.scope_to_user(Participant.objects.all(), scope.user, site_field="site")
    if scope.site_ids is not None:
        qs = qs.filter(site_id__in=scope.site_ids)
    return qs


def _live_rows(form: Form, scope: Scope) -> QuerySet:
    qs = selectors.base_queryset(form.resource, scope.user)
    if form.resource.has_voided:
        qs = qs.filter(voided=False)
    if scope.site_ids is not None:
        qs = qs.filter(**{f"{form.resource.site_field}__in": scope.site_ids})
    paths, exprs = form.resource.value_args()
    extra = {"odm_visit": F(form.visit_path)} if form.visit_path and form.visit_path != "id" else {}
    if form.participant_fk != "id":
        extra["odm_participant"] = F(form.participant_fk)
    return qs.values(*paths, **exprs, **extra).order_by("id")


def _signatures(participant_ids: list[int]) -> dict[int, dict[str, Any]]:
    """AE id -> its latest live e-signature (signer, site, meaning, time)."""
    try:
        model = apps.get_model("safety", "AeSignature")
    except LookupError:
        return {}
    out: dict[int, dict[str, Any]] = {}
    qs = model.objects.filter(participant_id__in=participant_ids, voided=False).order_by("signed_at", "id")
    for sig in qs.values(
        "adverse_event_ids", "signer__username", "participant__site__code", "meaning", "signed_at"
    ):
        for ae_id in sig["adverse_event_ids"] or []:
            out[int(ae_id)] = sig
    return out


def _documents(file_type: str, created: dt.datetime, body) -> Iterator[bytes]:
    """Open the ODM root, let `body(xf)` write into it (yielding to flush), close; yield bytes as they come."""
    sink = _Sink()
    attrs = {
        "FileType": file_type,
        "FileOID": f"CD8PET.{file_type.upper()}.{created:%Y%m%dT%H%M%S%f}",
        "CreationDateTime": stamp(created),
        "ODMVersion": "1.3.2",
        "Originator": "CD8-PET Trial Data Manager",
        "SourceSystem": "cd8pet-edc",
    }
    if file_type == "Snapshot":
        attrs["AsOfDateTime"] = stamp(created)
    with etree.xmlfile(sink, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{NS}}}ODM", attrs, nsmap={None: NS, "cd8": VENDOR_NS}):
            for _ in body(xf):
                if sink.size >= FLUSH_BYTES:
                    xf.flush()
                    yield sink.take()
    yield sink.take()


def _in_snapshot(inner: Iterator[bytes]) -> Iterator[bytes]:
    """Read everything at one database snapshot (REPEATABLE READ) unless already inside a transaction."""
    if connection.in_atomic_block or connection.vendor != "postgresql":
        yield from inner
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield from inner


# ---- Snapshot ------------------------------------------------------------------------------------------------


def snapshot(scope: Scope, created: dt.datetime) -> tuple[Iterator[bytes], Position]:
    """The Snapshot as a stream of bytes, and the feed cursor from which later changes follow."""
    position = changes.current_position(changes.horizon())
    return _in_snapshot(_documents("Snapshot", created, lambda xf: _snapshot_body(xf, scope))), position


def _snapshot_body(xf, scope: Scope) -> Iterator[None]:
    forms = odm_meta.forms()
    xf.write(study_element(forms))
    xf.write(admin_element(scope, users=_signers(scope), signatures=odm_monitoring.casebook_meanings()))
    with xf.element(el("ClinicalData"), StudyOID=odm_meta.STUDY_OID, MetaDataVersionOID=odm_meta.MDV_OID):
        subjects = _participants(scope).order_by("study_id").values_list("id", "study_id", "site__code")
        chunk: list[tuple[int, str, str]] = []
        for subject in subjects.iterator(chunk_size=SUBJECT_CHUNK):
            chunk.append(subject)
            if len(chunk) == SUBJECT_CHUNK:
                yield from _snapshot_subjects(xf, scope, forms, chunk)
                chunk = []
        if chunk:
            yield from _snapshot_subjects(xf, scope, forms, chunk)


def _signers(scope: Scope) -> dict[str, str]:
    try:
        model = apps.get_model("safety", "AeSignature")
    except LookupError:
        return {}
    qs = model.objects.filter(voided=False, participant__in=_participants(scope))
    users = {f"U.{u}": name for u, name in qs.values_list("signer__username", "printed_name").distinct()}
    return users | odm_monitoring.casebook_signers(_participants(scope))


def _snapshot_subjects(xf, scope: Scope, forms: tuple[Form, ...], chunk: list) -> Iterator[None]:
    ids = [pid for pid, _, _ in chunk]
    visits = {
        v["id"]: v for v in Visit.objects.filter(participant_id__in=ids).values("id", "code", "planned_date")
    }
    signatures = _signatures(ids)
    monitoring = odm_monitoring.load(ids)
    # participant id -> (order, event OID, repeat key) -> form -> [(record id, values)]
    tree: dict[int, dict[tuple, dict[str, list]]] = {pid: {} for pid in ids}
    by_name = {form.name: form for form in forms}
    for form in forms:
        for row in _live_rows(form, scope).filter(**{f"{form.participant_fk}__in": ids}).iterator(2000):
            pid = row["id"] if form.participant_fk == "id" else row["odm_participant"]
            event = _event_key(form, row, visits)
            tree[pid].setdefault(event, {}).setdefault(form.name, []).append(
                (row["id"], row_values(form, row))
            )
    for pid, study_id, site_code in chunk:
        with xf.element(el("SubjectData"), SubjectKey=study_id):
            casebook_sig = monitoring.signatures.get(pid)
            if casebook_sig is not None:
                xf.write(odm_monitoring.casebook_signature(casebook_sig))
            xf.write(top("SiteRef", LocationOID=f"LOC.{site_code}"))
            for order, event_oid, repeat in sorted(tree[pid], key=lambda k: (k[0], k[2])):
                attrs = {"StudyEventOID": event_oid}
                if event_oid != odm_meta.SUBJECT_EVENT:
                    attrs["StudyEventRepeatKey"] = str(repeat)
                with xf.element(el("StudyEventData"), attrs):
                    for name, records in tree[pid][(order, event_oid, repeat)].items():
                        form = by_name[name]
                        with xf.element(el("FormData"), FormOID=form.form_oid):
                            for record_id, values in records:
                                group = item_group(form, record_id, values, None)
                                sig = signatures.get(record_id) if form.name == "adverse-events" else None
                                if sig is not None:
                                    _attach_signature(group, sig)
                                odm_monitoring.annotate_group(group, form, record_id, monitoring)
                                xf.write(group)
            for node in odm_monitoring.subject_extension(monitoring, pid):
                xf.write(node)
        yield None


def _event_key(form: Form, row: dict, visits: dict) -> tuple:
    visit_id = row["id"] if form.visit_path == "id" else row.get("odm_visit")
    visit = visits.get(visit_id) if visit_id is not None else None
    if visit is None:
        return (dt.date.min, odm_meta.SUBJECT_EVENT, 0)
    return (visit["planned_date"], odm_meta.event_oid(visit["code"]), visit_id)


def _attach_signature(group: etree._Element, sig: dict) -> None:
    signature = etree.Element(el("Signature"))
    etree.SubElement(signature, el("UserRef"), UserOID=f"U.{sig['signer__username']}")
    etree.SubElement(signature, el("LocationRef"), LocationOID=f"LOC.{sig['participant__site__code']}")
    etree.SubElement(signature, el("SignatureRef"), SignatureOID=f"SD.{sig['meaning'].upper()}")
    etree.SubElement(signature, el("DateTimeStamp")).text = stamp(sig["signed_at"])
    group.insert(0, signature)


# ---- Transactional -------------------------------------------------------------------------------------------


def transactional(
    scope: Scope, created: dt.datetime, after: Position = START
) -> tuple[Iterator[bytes], Position]:
    """The Transactional file of every change after `after` (below the feed horizon), and the next cursor."""
    upto = changes.horizon()
    position = changes.current_position(upto)
    body = _Transactions(scope, created, after, upto)
    return _in_snapshot(_documents("Transactional", created, body.write)), position


@dataclass
class _Record:
    """What a strict importer holds for one record after the transactions sent so far."""

    values: dict[str, str] | None = None  # None: not present (never sent, or removed)
    location: tuple | None = None  # (participant id, event OID, repeat key)


class _Transactions:
    def __init__(self, scope: Scope, created: dt.datetime, after: Position, upto: int) -> None:
        self.scope, self.created, self.after, self.upto = scope, created, after, upto
        self.resolver = Resolver()
        self.subjects = dict(_participants(scope).values_list("id", "study_id"))
        self.site_codes = dict(_participants(scope).values_list("id", "site__code"))
        self.site_ids = dict(_participants(scope).values_list("id", "site_id"))
        self.known_subjects: set[int] = set()

    def entries(self, form: Form) -> QuerySet:
        app_label, model = form.resource.audit_key
        qs = changes._entries().filter(app_label=app_label, model=model, tx__lt=self.upto)
        if self.scope.site_ids is not None:
            qs = qs.filter(site_id__in=self.scope.site_ids)
        if self.after != START:
            later = qs.filter(Q(tx__gt=self.after.txid) | Q(tx=self.after.txid, id__gt=self.after.entry_id))
            qs = qs.filter(object_id__in=later.values("object_id"))
        qs = qs.filter(object_id__regex=r"^[0-9]+$")
        return qs.annotate(object_pk=Cast("object_id", BigIntegerField())).order_by("object_pk", "tx", "id")

    def write(self, xf) -> Iterator[None]:
        forms = odm_meta.forms()
        xf.write(study_element(forms))
        window = odm_monitoring.changed(self._window(), self.site_ids)
        users = self._users(forms) | odm_monitoring.signers(sorted(window.records))
        xf.write(admin_element(self.scope, users=users, signatures=odm_monitoring.casebook_meanings()))
        if self.after != START:
            self.known_subjects = self._subjects_before_cursor()
        with xf.element(el("ClinicalData"), StudyOID=odm_meta.STUDY_OID, MetaDataVersionOID=odm_meta.MDV_OID):
            for form in forms:
                yield from self._form(xf, form)
            yield from self._monitoring(xf, forms, window)

    def _window(self) -> QuerySet:
        """Every audit entry of this file's window (site scope applied through the participants)."""
        qs = changes._entries().filter(tx__lt=self.upto)
        if self.after != START:
            qs = qs.filter(Q(tx__gt=self.after.txid) | Q(tx=self.after.txid, id__gt=self.after.entry_id))
        return qs

    def _monitoring(self, xf, forms: tuple[Form, ...], window: odm_monitoring.Window) -> Iterator[None]:
        """The monitoring status of the subjects and records touched in the window (module docstring)."""
        by_name = {form.name: form for form in forms}
        pids = sorted(pid for pid in window.records if pid in self.known_subjects)
        audit = {"user": "U.SYSTEM", "location": "LOC.SPONSOR", "at": self.created}
        audit |= {"reason": MONITORING_REASON, "source": "export:monitoring"}
        for start in range(0, len(pids), SUBJECT_CHUNK):
            chunk = pids[start : start + SUBJECT_CHUNK]
            state = odm_monitoring.load(chunk)
            ae_signatures = _signatures(chunk)
            groups = self._monitored_groups(chunk, window, by_name)
            for pid in chunk:
                subject = top("SubjectData", SubjectKey=self.subjects[pid], TransactionType="Context")
                subject.append(audit_record(audit))
                signature = state.signatures.get(pid)
                if signature is not None:
                    subject.append(odm_monitoring.casebook_signature(signature))
                etree.SubElement(subject, el("SiteRef"), LocationOID=f"LOC.{self.site_codes[pid]}")
                _context_groups(subject, groups.get(pid, []), state, ae_signatures, audit)
                subject.extend(odm_monitoring.subject_extension(state, pid))
                xf.write(subject)
            yield None

    def _monitored_groups(
        self, chunk: list[int], window: odm_monitoring.Window, by_name: dict[str, Form]
    ) -> dict[int, list[tuple[tuple[str, int], Form, int]]]:
        """Participant id -> ((event OID, repeat key), form, record id) of the live records touched, in order."""
        wanted: dict[str, set[int]] = {}
        for pid in chunk:
            for resource, pk in window.records[pid]:
                if resource in by_name:
                    wanted.setdefault(resource, set()).add(pk)
        out: dict[int, list[tuple[tuple[str, int], Form, int]]] = {}
        for name, pks in wanted.items():
            form = by_name[name]
            for row in _live_rows(form, self.scope).filter(pk__in=sorted(pks)).iterator(2000):
                participant_id, event_oid, repeat = self._row_location(form, row)
                if participant_id in chunk:
                    out.setdefault(participant_id, []).append(((event_oid, repeat), form, row["id"]))
        for groups in out.values():
            groups.sort(key=lambda g: (g[0][0] != odm_meta.SUBJECT_EVENT, g[0][1], g[1].name, g[2]))
        return out

    def _users(self, forms: tuple[Form, ...]) -> dict[str, str]:
        users = {"U.SYSTEM": "system"}
        for form in forms:
            # order_by() first: DISTINCT over the entries' cursor ordering would return every entry (1M rows)
            rows = self.entries(form).order_by().values_list("user__username", "user_display").distinct()
            for name, display in rows:
                if name:
                    users[f"U.{name}"] = display or name
        return users

    def _subjects_before_cursor(self) -> set[int]:
        app_label, model = odm_meta.forms()[0].resource.audit_key
        qs = changes._entries().filter(app_label=app_label, model=model, action=AuditAction.CREATE)
        qs = qs.filter(Q(tx__lt=self.after.txid) | Q(tx=self.after.txid, id__lte=self.after.entry_id))
        return {int(o) for o in qs.values_list("object_id", flat=True) if o.isdigit()}

    def _form(self, xf, form: Form) -> Iterator[None]:
        live = _live_rows(form, self.scope)
        if self.after != START:
            live = live.filter(pk__in=self.entries(form).values("object_pk"))
        current = iter(live.iterator(2000))
        row = next(current, None)
        entries = self.entries(form).select_related("user").iterator(2000)
        for pk, group in itertools.groupby(entries, key=lambda e: e.object_pk):
            while row is not None and row["id"] < pk:
                yield from self._replay(xf, form, row["id"], [], row)  # a live record without audit entries
                row = next(current, None)
            found = row if row is not None and row["id"] == pk else None
            if found is not None:
                row = next(current, None)
            yield from self._replay(xf, form, pk, list(group), found)
        while row is not None:
            yield from self._replay(xf, form, row["id"], [], row)
            row = next(current, None)

    def _replay(self, xf, form: Form, pk: int, entries: list, row: dict | None) -> Iterator[None]:
        held = _Record()
        state: dict[str, Any] = {}
        for entry in entries:
            for name, pair in (entry.changes or {}).items():
                if isinstance(pair, list) and len(pair) == 2:
                    state[name] = pair[1]
            if entry.action not in (
                AuditAction.CREATE,
                AuditAction.UPDATE,
                AuditAction.VOID,
                AuditAction.RESTORE,
            ):
                continue
            live = not state.get("voided", False)
            values = self.resolver.values(form, state, pk) if live else None
            location = self._location(form, state, pk)
            if Position(entry.tx, entry.id) > self.after:
                yield from self._send(xf, form, pk, held, values, location, _audit(entry, self.site_codes))
            else:
                held = _Record(values, location)
                if location is not None and held.values is not None:
                    self.known_subjects.add(location[0])
        if row is not None:
            values = row_values(form, row)
            location = self._row_location(form, row)
        else:
            values, location = None, held.location
        if held.values != values or (values is not None and held.location != location):
            reconcile = {"user": "U.SYSTEM", "location": "LOC.SPONSOR", "at": self.created}
            reconcile |= {"reason": RECONCILE_REASON, "source": "export:current-values"}
            yield from self._send(xf, form, pk, held, values, location, reconcile)

    def _send(self, xf, form, pk, held: _Record, values, location, audit: dict) -> Iterator[None]:
        """Write the transactions that take the importer from `held` to (values, location); update `held`."""
        if values is None or location is None:
            if held.values is not None:
                self._write(xf, form, pk, held.location, "Remove", {}, {}, audit)
            held.values, held.location = None, location
            yield None
            return
        if held.values is not None and held.location != location:
            self._write(xf, form, pk, held.location, "Remove", {}, {}, audit)
            held.values = None
        if held.values is None:
            self._write(xf, form, pk, location, "Insert", values, {}, audit)
        else:
            changed = {k: v for k, v in values.items() if held.values.get(k) != v}
            cleared = {k: "" for k in held.values if k not in values}
            if not changed and not cleared:
                held.location = location
                return
            self._write(xf, form, pk, location, "Update", changed, cleared, audit)
        held.values, held.location = dict(values), location
        yield None

    def _write(self, xf, form, pk, location, tx_type: str, values, cleared, audit: dict) -> None:
        participant_id, event_oid, repeat = location
        subject_tx = "Context" if participant_id in self.known_subjects else "Insert"
        self.known_subjects.add(participant_id)
        parent_tx = "Context" if tx_type == "Remove" else "Upsert"
        subject = top(
            "SubjectData",
            SubjectKey=self.subjects.get(participant_id, str(participant_id)),
            TransactionType=subject_tx,
        )
        etree.SubElement(
            subject, el("SiteRef"), LocationOID=f"LOC.{self.site_codes.get(participant_id, 'SPONSOR')}"
        )
        attrs = {"StudyEventOID": event_oid, "TransactionType": parent_tx}
        if event_oid != odm_meta.SUBJECT_EVENT:
            attrs["StudyEventRepeatKey"] = str(repeat)
        event = etree.SubElement(subject, el("StudyEventData"), attrs)
        form_el = etree.SubElement(event, el("FormData"), FormOID=form.form_oid, TransactionType=parent_tx)
        group = item_group(form, pk, values, tx_type, cleared=cleared)
        group.insert(0, audit_record(audit))
        form_el.append(group)
        xf.write(subject)

    def _location(self, form: Form, state: dict, pk: int) -> tuple | None:
        participant_id = self.resolver.participant_id(form, state, pk)
        if participant_id is None or participant_id not in self.subjects:
            return None
        visit_id = self.resolver.visit_id(form, state, pk)
        return (participant_id, *self._event(visit_id))

    def _row_location(self, form: Form, row: dict) -> tuple | None:
        participant_id = row["id"] if form.participant_fk == "id" else row.get("odm_participant")
        visit_id = row["id"] if form.visit_path == "id" else row.get("odm_visit")
        return (participant_id, *self._event(visit_id))

    def _event(self, visit_id: Any) -> tuple[str, int]:
        if visit_id is None:
            return odm_meta.SUBJECT_EVENT, 0
        return odm_meta.event_oid(self.resolver.lookup(Visit, visit_id, "code")), int(visit_id)


def _audit(entry: Any, site_codes: dict[int, str]) -> dict[str, Any]:
    source = f"audit:{entry.pk};source:{entry.source}" + (
        f";request:{entry.request_id}" if entry.request_id else ""
    )
    site = site_codes.get(entry.participant_id)
    return {
        "user": f"U.{entry.user.username}" if entry.user_id else "U.SYSTEM",
        "location": f"LOC.{site}" if site else "LOC.SPONSOR",
        "at": entry.at,
        "reason": entry.reason,
        "source": source,
    }


def _context_groups(
    subject: etree._Element, groups: list, state: odm_monitoring.State, ae_signatures: dict, audit: dict
) -> None:
    """Context StudyEventData > FormData > ItemGroupData carrying each record's AE signature and cd8 status."""
    parents: dict[tuple, etree._Element] = {}
    for (event_oid, repeat), form, pk in groups:
        event_el = parents.get((event_oid, repeat))
        if event_el is None:
            attrs = {"StudyEventOID": event_oid, "TransactionType": "Context"}
            if event_oid != odm_meta.SUBJECT_EVENT:
                attrs["StudyEventRepeatKey"] = str(repeat)
            event_el = parents[(event_oid, repeat)] = etree.SubElement(subject, el("StudyEventData"), attrs)
        form_el = parents.get((event_oid, repeat, form.name))
        if form_el is None:
            form_el = parents[(event_oid, repeat, form.name)] = etree.SubElement(
                event_el, el("FormData"), FormOID=form.form_oid, TransactionType="Context"
            )
        group = item_group(form, pk, {}, "Context")
        sig = ae_signatures.get(pk) if form.name == "adverse-events" else None
        if sig is not None:
            _attach_signature(group, sig)
        group.insert(0, audit_record(audit))
        odm_monitoring.annotate_group(group, form, pk, state)
        form_el.append(group)
