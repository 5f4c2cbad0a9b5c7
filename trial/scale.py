"""A synthetic trial at multi-centre scale for benchmarks (`manage.py load_scale`), written with COPY.

Sites, participants with the protocol's visit calendar (trial/schedule.py), a scan per PET/MRI visit, AEs with
CTCAE terms and grades the term defines, and an audit trail: one `create` entry per record plus `update`
entries on AEs (each raising the AE's `version`) up to the requested total. Audit rows are written sealed:
`seq`, `prev_hash` and `entry_hash` are computed here exactly as trial/audit_chain.py does (each COPY runs in
its own transaction and the hashed `txid` is that transaction's, which the insert trigger stamps too), under
the chain's advisory lock, so `audit_verify` passes. PostgreSQL only (psycopg 3 COPY).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from trial.audit_chain import CHAIN_LOCK_KEY, GENESIS, entry_digest, seal_pending
from trial.models import AuditEntry, Participant, ParticipantStatus, Site, Visit, VisitStatus
from trial.schedule import pet_hours_plan, plan_visits

CHUNK = 50_000
TUMOURS = ["Melanoma", "Non-small cell lung cancer", "Renal cell carcinoma", "Urothelial carcinoma"]
COUNTRIES = ["NL", "BE", "DE", "FR", "ES", "IT", "GB", "DK", "SE", "PL"]
RELATEDNESS = ["unrelated", "unlikely", "possible", "probable", "definite"]


@dataclass
class ScalePlan:
    sites: int
    participants: int
    aes: int
    audit: int
    scans: int
    seed: int = 17
    report: Callable[[str], None] = print
    counts: dict[str, int] = field(default_factory=dict)


def _reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """Draw n ids from the table's own sequence (so later ordinary inserts never collide)."""
    if n == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, n],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(model: type[models.Model], rows: list[dict[str, Any]]) -> int:
    """COPY dicts of attname -> value into the model's table; missing columns take the field default (the
    primary key, when absent, its sequence)."""
    pk = model._meta.pk.attname
    fields = [f for f in model._meta.concrete_fields if f.attname != pk or (rows and pk in rows[0])]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    defaults = {f.attname: f.get_default() for f in fields}
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        with raw.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = []
                for f in fields:
                    value = row.get(f.attname, defaults[f.attname])
                    if isinstance(f, models.JSONField):
                        value = json.dumps(value)
                    values.append(value)
                copy.write_row(values)
                written += 1
    return written


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Entry:
    """The hashed fields of one audit row (what entry_digest reads)."""

    __slots__ = (
        "seq", "prev_hash", "at", "user_id", "user_display", "action", "app_label", "model", "object_id",
        "object_repr", "participant_id", "site_id", "changes", "reason", "source", "ip_address",
        "request_id", "txid", "entry_hash",
    )  # fmt: skip

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name))

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class ScaleLoader:
    def __init__(self, plan: ScalePlan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.today = timezone.localdate()
        self.audit_specs: list[tuple] = []  # (at, action, app, model, object_id, repr, pid, sid, changes)
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        self.plan.report(f"[{time.monotonic() - self.started:6.1f} s] {message}")

    # -- records ---------------------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        sites = self.make_sites()
        participants = self.make_participants(sites)
        visits = self.make_visits(participants)
        self.make_scans(visits)
        self.make_aes(participants)
        self.write_audit()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.say("ANALYZE done")
        return self.plan.counts

    def make_sites(self) -> list[Site]:
        existing = Site.objects.filter(code__startswith="SC").count()
        sites = [
            Site(
                code=f"SC{existing + i + 1:03d}",
                name=f"Scale site {existing + i + 1}",
                country=COUNTRIES[i % len(COUNTRIES)],
                investigator_email=f"pi.sc{existing + i + 1:03d}@scale.example",
            )
            for i in range(self.plan.sites)
        ]
        Site.objects.bulk_create(sites)
        self.plan.counts["sites"] = len(sites)
        self.say(f"sites: {len(sites)}")
        return sites

    def make_participants(self, sites: list[Site]) -> list[dict[str, Any]]:
        rng, n = self.rng, self.plan.participants
        ids = _reserve_ids(Participant, n)
        now = timezone.now()
        rows = []
        numbers: Counter[int] = Counter()
        for i, pk in enumerate(ids):
            site = sites[i % len(sites)]
            numbers[site.pk] += 1
            enrolment = self.today - dt.timedelta(days=rng.randint(25, 1100))
            day1 = enrolment + dt.timedelta(days=21)
            status, status_date = ParticipantStatus.ENROLLED, enrolment
            if day1 <= self.today:
                status, status_date = ParticipantStatus.ON_TREATMENT, day1
            if day1 + dt.timedelta(days=240) <= self.today:
                status, status_date = ParticipantStatus.FOLLOW_UP, day1 + dt.timedelta(days=224)
            sex = rng.choice("MF")
            rows.append(
                {
                    "id": pk,
                    "site_id": site.pk,
                    "sequence_number": numbers[site.pk],
                    "study_id": f"{site.code}-{numbers[site.pk]:04d}",
                    "year_of_birth": rng.randint(1945, 1990),
                    "sex": sex,
                    "height_cm": rng.randint(158, 192) if sex == "M" else rng.randint(150, 180),
                    "weight_kg": round(rng.uniform(52, 98), 1),
                    "tumour_type": rng.choice(TUMOURS),
                    "planned_anti_pd1": rng.choice(["nivolumab", "cetrelimab"]),
                    "status": status,
                    "status_date": status_date,
                    "created_at": now,
                    "updated_at": now,
                    "_day1": day1,
                }
            )
        _copy(Participant, rows)
        for row in rows:
            self.audit_specs.append(
                ("create", "trial", "participant", row["id"], row["study_id"], row["id"], row["site_id"],
                 {k: [None, str(row[k])] for k in ("site_id", "study_id", "status", "status_date")})
            )  # fmt: skip
        self.plan.counts["participants"] = len(rows)
        self.say(f"participants: {len(rows)}")
        return rows

    def make_visits(self, participants: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from trial.services import _definitions_as_dicts, current_protocol

        pv = current_protocol()
        definitions = _definitions_as_dicts(pv)
        definition_ids = dict(pv.visit_definitions.values_list("code", "id"))
        now = timezone.now()
        visits: list[dict[str, Any]] = []
        for p in participants:
            for planned in plan_visits(definitions, p["_day1"]):
                done = planned.planned_date < self.today
                visits.append(
                    {
                        "participant_id": p["id"],
                        "definition_id": definition_ids[planned.definition_code],
                        "code": planned.code,
                        "name": planned.name,
                        "kind": planned.kind,
                        "planned_date": planned.planned_date,
                        "window_before": planned.window_before,
                        "window_after": planned.window_after,
                        "actual_date": planned.planned_date if done else None,
                        "status": VisitStatus.DONE if done else VisitStatus.PLANNED,
                        "is_study_procedure": planned.is_study_procedure,
                        "created_at": now,
                        "updated_at": now,
                        "_site_id": p["site_id"],
                        "_study_id": p["study_id"],
                        "_definition": next(d for d in definitions if d["code"] == planned.definition_code),
                    }
                )  # fmt: skip
        for visit, pk in zip(visits, _reserve_ids(Visit, len(visits)), strict=True):
            visit["id"] = pk
        for chunk in _chunks(visits):
            _copy(Visit, chunk)
        for v in visits:
            self.audit_specs.append(
                ("create", "trial", "visit", v["id"], f"{v['_study_id']} {v['name']}", v["participant_id"],
                 v["_site_id"], {"code": [None, v["code"]], "planned_date": [None, str(v["planned_date"])]})
            )  # fmt: skip
        self.plan.counts["visits"] = len(visits)
        self.say(f"visits: {len(visits)}")
        return visits

    def make_scans(self, visits: list[dict[str, Any]]) -> None:
        from imaging.models import Scan, ScanStatus

        tracer_dates = {
            (v["participant_id"], v["code"]): v["planned_date"] for v in visits if v["kind"] == "tracer"
        }
        candidates = [v for v in visits if v["kind"] in ("pet", "mri")][: self.plan.scans]
        now = timezone.now()
        rows = []
        for v, pk in zip(candidates, _reserve_ids(Scan, len(candidates)), strict=True):
            tracer_code = ("OT_" if v["code"].startswith("OT_") else "BL_") + "TRACER"
            windows = (float(v["window_before"]) * 24.0, float(v["window_after"]) * 24.0)
            if v["kind"] == "pet" and (plan := pet_hours_plan(v["_definition"])) is not None:
                hours, *windows = plan
                tracer_code = v["_definition"]["anchor"]
            elif v["kind"] == "pet":
                hours = float(v["_definition"]["day"]) * 24.0
            else:
                hours = float(
                    (v["planned_date"] - tracer_dates[(v["participant_id"], tracer_code)]).days * 24
                )
            done = v["status"] == VisitStatus.DONE
            rows.append(
                {
                    "id": pk,
                    "participant_id": v["participant_id"],
                    "visit_id": v["id"],
                    "modality": "PT" if v["kind"] == "pet" else "MR",
                    "tracer_visit_code": tracer_code,
                    "planned_hours_post_injection": hours,
                    "window_hours_before": windows[0],
                    "window_hours_after": windows[1],
                    "status": ScanStatus.ACQUIRED
                    if done and self.rng.random() < 0.5
                    else ScanStatus.SCHEDULED,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            self.audit_specs.append(
                ("create", "imaging", "scan", pk, f"{v['_study_id']} {v['code']}", v["participant_id"],
                 v["_site_id"], {"visit_id": [None, v["id"]], "modality": [None, rows[-1]["modality"]]})
            )  # fmt: skip
        for chunk in _chunks(rows):
            _copy(Scan, chunk)
        self.plan.counts["scans"] = len(rows)
        note = "" if len(rows) == self.plan.scans else f" (one per PET/MRI visit; {self.plan.scans} asked)"
        self.say(f"scans: {len(rows)}{note}")

    def make_aes(self, participants: list[dict[str, Any]]) -> None:
        from safety.models import CURRENT_CTCAE_VERSION, AdverseEvent, CtcaeTerm

        rng = self.rng
        terms = []
        for term in CtcaeTerm.objects.filter(version=CURRENT_CTCAE_VERSION):
            grades = [g for g in term.defined_grades if g <= 4]
            if grades and not term.is_other_specify:
                terms.append((term.pk, term.term, grades))
        treated = [p for p in participants if p["_day1"] < self.today] or participants
        n = self.plan.aes
        extra = max(0, self.plan.audit - len(self.audit_specs) - n)
        updates = Counter(rng.randrange(n) for _ in range(extra)) if n else Counter()
        now = timezone.now()
        rows = []
        for i, pk in enumerate(_reserve_ids(AdverseEvent, n)):
            p = rng.choice(treated)
            term_id, term_name, grades = rng.choice(terms)
            grade = rng.choices(grades, weights=[5, 3, 1.5, 0.5][: len(grades)])[0]
            span = max(1, min((self.today - p["_day1"]).days, 300))
            onset = p["_day1"] + dt.timedelta(days=rng.randrange(span))
            end = onset + dt.timedelta(days=rng.randint(3, 40))
            ongoing = end >= self.today
            serious = grade >= 3 and rng.random() < 0.3
            n_updates = updates.get(i, 0)
            rows.append(
                {
                    "id": pk,
                    "participant_id": p["id"],
                    "term_id": term_id,
                    "ctcae_version": CURRENT_CTCAE_VERSION,
                    "grade": grade,
                    "onset_date": onset.isoformat(),
                    "onset_precision": "day",
                    "end_date": "" if ongoing else end.isoformat(),
                    "end_precision": "" if ongoing else "day",
                    "ongoing": ongoing,
                    "serious": serious,
                    "sae_hospitalisation": serious,
                    "sae_aware_at": dt.datetime.combine(onset, dt.time(12), tzinfo=dt.UTC)
                    if serious
                    else None,
                    "outcome": "not_recovered" if ongoing else "recovered",
                    "action_anti_pd1": "drug_interrupted" if serious else "dose_not_changed",
                    "anti_pd1_drug": p["planned_anti_pd1"],
                    "immune_related": rng.random() < 0.2,
                    "rel_tracer": rng.choice(RELATEDNESS[:3]),
                    "rel_pet": "unrelated",
                    "rel_biopsy": rng.choice(RELATEDNESS[:2]),
                    "rel_anti_pd1": rng.choice(RELATEDNESS),
                    "description": f"Follow-up {n_updates}" if n_updates else "",
                    "version": 1 + n_updates,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            spec = (
                "safety",
                "adverseevent",
                pk,
                f"AE {pk}: {term_name} grade {grade}",
                p["id"],
                p["site_id"],
            )
            self.audit_specs.append(("create", *spec, {"term_id": [None, term_id], "grade": [None, grade]}))
            for k in range(n_updates):
                old = f"Follow-up {k}" if k else ""
                changes = {"description": [old, f"Follow-up {k + 1}"], "version": [k + 1, k + 2]}
                self.audit_specs.append(("update", *spec, changes))
        for chunk in _chunks(rows):
            _copy(AdverseEvent, chunk)
        self.plan.counts["adverse_events"] = len(rows)
        self.say(f"adverse events: {len(rows)} (+{extra} audited updates)")

    # -- audit trail ---------------------------------------------------------------------------------------
    def write_audit(self) -> None:
        seal_pending()  # whatever the app wrote before is sealed first, so the chain head is final
        specs = self.audit_specs
        self.rng.shuffle(
            specs
        )  # interleave objects as real activity does; an object's own order is kept below
        specs.sort(key=lambda s: 0 if s[0] == "create" else s[-1]["version"][0])
        start = timezone.now() - dt.timedelta(seconds=len(specs))
        written = 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [CHAIN_LOCK_KEY])
        try:
            head = (
                AuditEntry.objects.filter(seq__isnull=False)
                .order_by("-seq")
                .values_list("seq", "entry_hash")
                .first()
            )
            seq, prev = head if head else (0, GENESIS)
            for chunk in _chunks(specs):
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT txid_current()")
                        txid = cursor.fetchone()[0]
                    rows = []
                    for action, app, model, object_id, repr_, pid, sid, changes in chunk:
                        seq += 1
                        entry = _Entry(
                            seq=seq, prev_hash=prev, at=start + dt.timedelta(seconds=written), user_id=None,
                            user_display="load_scale", action=action, app_label=app, model=model,
                            object_id=str(object_id), object_repr=repr_[:200], participant_id=pid, site_id=sid,
                            changes=changes, reason="" if action == "create" else "Scale data: follow-up",
                            source="import", ip_address=None, request_id="load-scale", txid=txid,
                        )  # fmt: skip
                        entry.entry_hash = prev = entry_digest(entry)
                        rows.append(entry.as_row())
                        written += 1
                    _copy(AuditEntry, rows)
                self.say(f"audit entries: {written}/{len(specs)}")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [CHAIN_LOCK_KEY])
        self.plan.counts["audit_entries"] = written
