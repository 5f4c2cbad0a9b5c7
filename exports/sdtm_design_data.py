"""Rows of the trial design domains (TS, TA, TE, TV, TI from the protocol and exports/data/trial_summary.json) and
of the subject-level design domains (SE, SV, IE, PR from the participants' records), scoped to the user's sites.

TV lists the protocol calendar in its planned order (trial.schedule.plan_visits), which is the order the
participants' visits are numbered in (VISITNUM: rank in the participant's schedule). SE: SCRN from informed consent
to the first 89Zr-Df-crefmirlimab injection (or the screen failure), TRT from that injection to the end of study.
IE: every criterion a participant's eligibility answers do not meet, and every criterion a screen failure of the
screening log failed. PR: biopsies and acquired PET/MRI scans (tracer injections are in EX).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from casebook.models import Disposition
from exports import sdtm_clinical_data
from exports.sdtm_clinical_data import Context, Subject, _stream
from exports.sdtm_design import ARM, ELEMENTS
from exports.sdtm_dm_data import first_by_participant, screen_failures, subject_of_entry
from exports.sdtm_vars import CT_VERSION, SDTM_VERSION, SDTMIG_VERSION, STUDYID
from imaging.models import Scan
from pathology.models import Biopsy
from trial import access
from trial.models import Consent, EligibilityAnswer, EligibilityCriterion, Participant, ProtocolVersion, Visit
from trial.schedule import definitions_as_dicts, plan_visits

TRIAL_SUMMARY = Path(__file__).resolve().parent / "data" / "trial_summary.json"
Row = dict[str, Any]
Seq = Callable[[int], int]
_DAY1 = dt.date(2001, 1, 1)  # any treatment start: TV needs the calendar's order and planned study days only


def _protocol() -> ProtocolVersion | None:
    return ProtocolVersion.objects.filter(is_current=True).order_by("-effective_date").first()


def _participants(user: Any) -> Any:
    return access.scope_to_user(Participant.objects.filter(voided=False), user, site_field="site")


# -- TS ---------------------------------------------------------------------------------------------------------
def iter_ts(user: Any) -> Iterator[Row]:
    params = json.loads(TRIAL_SUMMARY.read_text())["parameters"]
    participants = _participants(user)
    first_consent = (
        Consent.objects.filter(voided=False, participant__in=participants.values("pk"))
        .order_by("consent_date")
        .values_list("consent_date", flat=True)
        .first()
    )
    enrolled = participants.exclude(status__in=("screening", "screen_failure")).count()
    derived = [
        {"TSPARMCD": "ACTSUB", "TSPARM": "Actual Number of Subjects", "TSVAL": str(enrolled)},
        {"TSPARMCD": "SDTIGVER", "TSPARM": "SDTM IG Version", "TSVAL": SDTMIG_VERSION},
        {"TSPARMCD": "SDTMVER", "TSPARM": "SDTM Version", "TSVAL": SDTM_VERSION},
        {
            "TSPARMCD": "SSTDTC",
            "TSPARM": "Study Start Date",
            "TSVAL": first_consent.isoformat() if first_consent else None,
        },
    ]
    seq: dict[str, int] = {}
    for p in (*params, *derived):
        code = p["TSPARMCD"]
        seq[code] = seq.get(code, 0) + 1
        value, value_code = p.get("TSVAL"), p.get("TSVALCD")
        iso = code in ("AGEMIN", "AGEMAX", "SSTDTC") and value
        yield {
            "STUDYID": STUDYID,
            "DOMAIN": "TS",
            "TSSEQ": seq[code],
            "TSPARMCD": code,
            "TSPARM": p["TSPARM"],
            "TSVAL": value or "",
            "TSVALNF": "" if value else (p.get("TSVALNF") or "UNK"),
            "TSVALCD": value_code or "",
            "TSVCDREF": "CDISC CT" if value_code else ("ISO 8601" if iso else ""),
            "TSVCDVER": CT_VERSION if value_code else "",
        }


# -- TE, TA -----------------------------------------------------------------------------------------------------
def iter_te(user: Any) -> Iterator[Row]:
    for code, (element, start, end, _epoch) in ELEMENTS.items():
        yield {
            "STUDYID": STUDYID,
            "DOMAIN": "TE",
            "ETCD": code,
            "ELEMENT": element,
            "TESTRL": start,
            "TEENRL": end,
            "TEDUR": "",
        }


def iter_ta(user: Any) -> Iterator[Row]:
    for order, (code, (element, _start, _end, epoch)) in enumerate(ELEMENTS.items(), 1):
        yield {
            "STUDYID": STUDYID,
            "DOMAIN": "TA",
            "ARMCD": ARM[0],
            "ARM": ARM[1],
            "TAETORD": order,
            "ETCD": code,
            "ELEMENT": element,
            "TABRANCH": "",
            "TATRANS": "",
            "EPOCH": epoch,
        }


# -- TV, TI -----------------------------------------------------------------------------------------------------
def _study_day(date: dt.date) -> int:
    days = (date - _DAY1).days
    return days + 1 if days >= 0 else days


def iter_tv(user: Any) -> Iterator[Row]:
    pv = _protocol()
    if pv is None:
        return
    definitions = list(pv.visit_definitions.order_by("order", "id"))
    by_code = {d.code: d for d in definitions}
    plan = plan_visits(definitions_as_dicts(definitions), _DAY1)
    for number, visit in enumerate(plan, 1):
        d = by_code[visit.definition_code]
        window = f"window {visit.window_before} days before to {visit.window_after} days after"
        if d.anchor == "last_procedure":
            start, day = f"{d.day} days after the last study procedure, {window}", None
        else:
            day = _study_day(visit.planned_date)
            start = f"Planned on study day {day} (day 1: anti-PD-1 start), {window}"
        yield {
            "STUDYID": STUDYID,
            "DOMAIN": "TV",
            "VISITNUM": number,
            "VISIT": visit.name,
            "VISITDY": day,
            "ARMCD": "",
            "ARM": "",
            "TVSTRL": start,
            "TVENRL": "",
        }


def iter_ti(user: Any) -> Iterator[Row]:
    pv = _protocol()
    if pv is None:
        return
    for c in pv.criteria.order_by("order", "code"):
        yield {
            "STUDYID": STUDYID,
            "DOMAIN": "TI",
            "IETESTCD": c.code,
            "IETEST": c.text[:200],
            "IECAT": c.kind.upper(),
            "TIVERS": pv.version,
        }


# -- SE, SV -----------------------------------------------------------------------------------------------------
def _se(s: Subject, seq: int, code: str, start: str, end: str, start_day: Any, end_day: Any) -> Row:
    element, _start, _end, epoch = ELEMENTS[code]
    return {
        "STUDYID": STUDYID,
        "DOMAIN": "SE",
        "USUBJID": s.usubjid,
        "SESEQ": seq,
        "ETCD": code,
        "ELEMENT": element,
        "TAETORD": list(ELEMENTS).index(code) + 1,
        "EPOCH": epoch,
        "SESTDTC": start,
        "SEENDTC": end,
        "SESTDY": s.day(start_day),
        "SEENDY": s.day(end_day),
        "SEUPDES": "",
    }


def iter_se(user: Any) -> Iterator[Row]:
    ctx = Context(user)
    participants = _participants(user)
    live = {"voided": False, "participant__in": participants.values("pk")}
    consent = first_by_participant(Consent.objects.filter(**live), "consent_date")
    ends: dict[int, dt.date] = {}
    for pid, end in (
        Disposition.objects.filter(**live)
        .order_by("end_date", "id")
        .values_list("participant_id", "end_date")
    ):
        ends[pid] = end
    for p in participants.order_by("study_id").iterator(chunk_size=sdtm_clinical_data.CHUNK):
        s = ctx.subjects[p.pk]
        signed = consent.get(p.pk)
        if signed is None:
            continue
        if s.first_dose is None:
            end = p.status_date if p.status == "screen_failure" else None
            yield _se(s, 1, "SCRN", signed.isoformat(), end.isoformat() if end else "", signed, end)
            continue
        yield _se(s, 1, "SCRN", signed.isoformat(), s.local(s.first_dose), signed, s.first_dose)
        end = ends.get(p.pk)
        yield _se(s, 2, "TRT", s.local(s.first_dose), end.isoformat() if end else "", s.first_dose, end)
    for entry in screen_failures(user):
        day = entry.screened_on.isoformat()
        yield _se(subject_of_entry(entry), 1, "SCRN", day, day, None, None)


def iter_sv(user: Any) -> Iterator[Row]:
    """Visits done; VISITDY is the protocol's planned day of the visit, as in TV."""
    ctx = Context(user)
    planned_day = {r["VISIT"]: r["VISITDY"] for r in iter_tv(user)}
    visits = access.scope_to_user(
        Visit.objects.filter(voided=False, actual_date__isnull=False, participant__voided=False), user
    )
    for v in visits.order_by("participant__study_id", "planned_date", "id").iterator(
        chunk_size=sdtm_clinical_data.CHUNK
    ):
        s = ctx.subjects.get(v.participant_id)
        if s is None:
            continue
        timing = ctx.visit(v.pk, s, v.actual_date)
        yield {
            "STUDYID": STUDYID,
            "DOMAIN": "SV",
            "USUBJID": s.usubjid,
            "VISITNUM": timing["VISITNUM"],
            "VISIT": timing["VISIT"],
            "VISITDY": planned_day.get(v.name) if v.definition_id else None,
            "EPOCH": timing["EPOCH"],
            "SVSTDTC": v.actual_date.isoformat(),
            "SVENDTC": v.actual_date.isoformat(),
            "SVSTDY": s.day(v.actual_date),
            "SVENDY": s.day(v.actual_date),
            "SVUPDES": "" if v.definition_id else f"Unscheduled: {v.name}"[:200],
        }


# -- IE ---------------------------------------------------------------------------------------------------------
def _ie(s: Subject, seq: int, spid: str, criterion: Any, when: dt.date) -> Row:
    result = "N" if criterion.kind == "inclusion" else "Y"
    return {
        "STUDYID": STUDYID,
        "DOMAIN": "IE",
        "USUBJID": s.usubjid,
        "IESEQ": seq,
        "IESPID": spid,
        "IETESTCD": criterion.code,
        "IETEST": criterion.text[:200],
        "IECAT": criterion.kind.upper(),
        "IEORRES": result,
        "IESTRESC": result,
        "VISITNUM": None,
        "VISIT": "",
        "EPOCH": "SCREENING",
        "IEDTC": when.isoformat(),
        "IEDY": s.day(when),
    }


def iter_ie(user: Any) -> Iterator[Row]:
    def answer(a: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        if not a.criterion.is_met_by(a.answer):
            yield _ie(s, seq(0), f"ELIG-{a.pk}", a.criterion, a.created_at.astimezone(s.zone).date())

    yield from _stream(user, [(EligibilityAnswer, ("participant", "criterion"), answer)], 1)
    pv = _protocol()
    criteria = {c.code: c for c in EligibilityCriterion.objects.filter(protocol_version=pv)} if pv else {}
    for entry in screen_failures(user):
        s = subject_of_entry(entry)
        failed = [criteria[code] for code in entry.failed_criteria if code in criteria]
        for n, criterion in enumerate(failed, 1):
            yield _ie(s, n, f"SCRLOG-{entry.pk}", criterion, entry.screened_on)


# -- PR ---------------------------------------------------------------------------------------------------------
def iter_pr(user: Any) -> Iterator[Row]:
    def head(s: Subject, seq: int, spid: str) -> Row:
        return {"STUDYID": STUDYID, "DOMAIN": "PR", "USUBJID": s.usubjid, "PRSEQ": seq, "PRSPID": spid}

    def biopsy(b: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        yield head(s, seq(0), f"BX-{b.pk}") | {
            "PRREFID": b.sample_id,
            "PRLNKID": b.lesion.label if b.lesion_id and not b.lesion.voided else "",
            "PRTRT": "BIOPSY",
            "PRLOC": b.organ.upper()[:60],
            **ctx.visit(b.visit_id, s, b.biopsy_date),
            "PRSTDTC": b.biopsy_date.isoformat(),
            "PRSTDY": s.day(b.biopsy_date),
        }

    def scan(sc: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        if sc.acquired_at is None:
            return
        yield head(s, seq(0), f"SCAN-{sc.pk}") | {
            "PRREFID": "",
            "PRLNKID": "",
            "PRTRT": "PET/CT SCAN" if sc.modality == "PT" else "MRI",
            "PRLOC": "",
            **ctx.visit(sc.visit_id, s, sc.acquired_at),
            "PRSTDTC": s.local(sc.acquired_at),
            "PRSTDY": s.day(sc.acquired_at),
        }

    yield from _stream(user, [(Biopsy, ("participant", "lesion"), biopsy), (Scan, ("participant",), scan)], 1)


STREAMS: dict[str, Callable[[Any], Iterator[Row]]] = {
    "TS": iter_ts,
    "TA": iter_ta,
    "TE": iter_te,
    "TV": iter_tv,
    "TI": iter_ti,
    "SE": iter_se,
    "SV": iter_sv,
    "IE": iter_ie,
    "PR": iter_pr,
}
