"""Rows of the casebook and tracer PK domains (CM, MH, VS, LB, PC, SUPPPC, PP, IS, DS), streamed a database chunk
at a time and scoped to the user's sites.

--SEQ is stable: every source record of a subject takes a rank in creation order (voided records keep theirs)
and each of its possible rows a fixed slot, so --SEQ = (rank - 1) * slots + slot; --SPID names the source
record. Date/times are the site's wall clock with its offset. VISITNUM is the visit's rank in the participant's
schedule (planned date, then id; voided visits keep their number); EPOCH is SCREENING before the first
89Zr-Df-crefmirlimab injection and TREATMENT from it on; --DY counts from the injection's site-local date (day 1,
no day 0).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models.functions import Collate

from casebook.models import (
    AdaSample,
    BodyMeasurement,
    CancerHistory,
    Disposition,
    LabResult,
    MedicalHistory,
    Medication,
    PkSample,
    PriorTherapyLine,
    VitalSigns,
    WhoDrugEntry,
)
from exports import sdtm_clinical as cl
from exports.sdtm_vars import STUDYID
from kinetics.models import PkParameter
from quant.labs.criteria import TESTS as GRADED_TESTS
from trial import access
from trial.models import Participant, TracerDose, Visit
from trial.site_time import site_zone

CHUNK = 2000  # rows fetched from the database at a time
Row = dict[str, Any]


@dataclass(frozen=True)
class Subject:
    usubjid: str
    zone: Any
    first_dose: dt.datetime | None  # first tracer injection (RFSTDTC)

    def local(self, when: dt.datetime | None) -> str:
        return "" if when is None else when.astimezone(self.zone).isoformat(timespec="seconds")

    def ref_date(self) -> dt.date | None:
        return None if self.first_dose is None else self.first_dose.astimezone(self.zone).date()

    def day(self, when: dt.date | dt.datetime | None) -> int | None:
        """--DY: study day of a date (or of an instant's site-local date); no day 0."""
        ref = self.ref_date()
        if when is None or ref is None:
            return None
        date = when.astimezone(self.zone).date() if isinstance(when, dt.datetime) else when
        days = (date - ref).days
        return days + 1 if days >= 0 else days

    def epoch(self, when: dt.date | dt.datetime | None) -> str:
        if when is None:
            return ""
        if self.first_dose is None:
            return "SCREENING"
        if isinstance(when, dt.datetime):
            return "TREATMENT" if when >= self.first_dose else "SCREENING"
        return "TREATMENT" if when >= self.ref_date() else "SCREENING"


class Context:
    """Per-participant facts every domain needs: USUBJID, site zone, first injection, visit numbers."""

    def __init__(self, user: Any) -> None:
        self.user = user
        participants = access.scope_to_user(Participant.objects.filter(voided=False), user, site_field="site")
        first: dict[int, dt.datetime] = {}
        for pid, when in (
            TracerDose.objects.filter(voided=False, participant__in=participants.values("pk"))
            .order_by("administered_at")
            .values_list("participant_id", "administered_at")
            .iterator(chunk_size=CHUNK)
        ):
            first.setdefault(pid, when)
        self.subjects: dict[int, Subject] = {}
        for pid, study_id, zone in participants.values_list("pk", "study_id", "site__time_zone").iterator(
            chunk_size=CHUNK
        ):
            self.subjects[pid] = Subject(f"{STUDYID}-{study_id}", site_zone(zone), first.get(pid))
        self.visits: dict[int, tuple[int, str]] = {}
        rank: dict[int, int] = {}
        for vid, pid, name in (
            Visit.objects.filter(participant__in=participants.values("pk"))
            .order_by("participant_id", "planned_date", "id")
            .values_list("pk", "participant_id", "name")
            .iterator(chunk_size=CHUNK)
        ):
            rank[pid] = rank.get(pid, 0) + 1
            self.visits[vid] = (rank[pid], name)

    def visit(self, visit_id: int | None, subject: Subject, when: Any) -> Row:
        num, name = self.visits.get(visit_id, (None, "")) if visit_id else (None, "")
        return {"VISITNUM": num, "VISIT": name, "EPOCH": subject.epoch(when)}


def _ordered(model: Any, user: Any, related: tuple[str, ...]) -> Iterator[Any]:
    """Every record of the user's sites, voided ones too (they keep their --SEQ slot), by subject and creation."""
    by_subject = Collate("participant__study_id", "BINARY" if connection.vendor == "sqlite" else "C")
    qs = access.scope_to_user(model.objects.filter(participant__voided=False), user)
    return qs.select_related(*related).order_by(by_subject, "created_at", "id").iterator(chunk_size=CHUNK)


def _keyed(n: int, model: Any, user: Any, related: tuple[str, ...]) -> Iterator[tuple]:
    for r in _ordered(model, user, related):
        yield (r.participant.study_id, r.created_at, n, r.pk, r)


RowsOf = Callable[[Any, Subject, Context, Callable[[int], int]], Iterator[Row]]


def _stream(
    user: Any,
    sources: list[tuple[Any, tuple[str, ...], RowsOf]],
    slots: int,
) -> Iterator[Row]:
    """Merge the sources by (subject, creation time) and give each live record its rows with stable --SEQ."""
    ctx = Context(user)
    streams = [_keyed(n, model, user, related) for n, (model, related, _) in enumerate(sources)]
    rank: dict[int, int] = {}
    for _sid, _at, n, _pk, record in heapq.merge(*streams, key=lambda e: e[:4]):
        subject = ctx.subjects.get(record.participant_id)
        if subject is None:
            continue
        rank[record.participant_id] = rank.get(record.participant_id, 0) + 1
        if record.voided:
            continue
        base = (rank[record.participant_id] - 1) * slots

        def seq(slot: int, base: int = base) -> int:
            return base + slot + 1

        yield from sources[n][2](record, subject, ctx, seq)


def _head(domain: str, subject: Subject, prefix: str, seq: int, spid: str) -> Row:
    return {
        "STUDYID": STUDYID,
        "DOMAIN": domain,
        "USUBJID": subject.usubjid,
        f"{prefix}SEQ": seq,
        f"{prefix}SPID": spid,
    }


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _results(prefix: str, value: Any, unit: str) -> Row:
    text = _num(value)
    return {
        f"{prefix}ORRES": text,
        f"{prefix}ORRESU": unit if text else "",
        f"{prefix}STRESC": text,
        f"{prefix}STRESN": None if value is None else float(value),
        f"{prefix}STRESU": unit if text else "",
    }


# -- CM ---------------------------------------------------------------------------------------------------------
def _whodrug(user: Any) -> dict[str, tuple[str, str, str]]:
    """WHODrug entries of the codes the user's medications use: code -> (name, ATC code, ATC text)."""
    codes = (
        access.scope_to_user(Medication.objects.exclude(whodrug_code=""), user)
        .values_list("whodrug_code", flat=True)
        .distinct()
    )
    return {
        code: (name, atc, text)
        for code, name, atc, text in WhoDrugEntry.objects.filter(drug_code__in=codes).values_list(
            "drug_code", "drug_name", "atc_code", "atc_text"
        )
    }


def iter_cm(user: Any) -> Iterator[Row]:
    dictionary = _whodrug(user)

    def medication(m: Medication, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        name, atc, atc_text = dictionary.get(m.whodrug_code, ("", "", ""))
        yield _head("CM", s, "CM", seq(0), f"MED-{m.pk}") | {
            "CMTRT": m.name,
            "CMDECOD": name,
            "CMCAT": "PRIOR MEDICATION" if m.category == "prior" else "CONCOMITANT MEDICATION",
            "CMSCAT": "SYSTEMIC CORTICOSTEROID" if m.is_systemic_steroid else "",
            "CMINDC": m.indication,
            "CMCLAS": atc_text if atc and atc == m.atc_code else "",
            "CMCLASCD": m.atc_code,
            "CMDOSE": None if m.dose is None else float(m.dose),
            "CMDOSU": m.dose_unit,
            "CMDOSFRQ": m.frequency,
            "CMROUTE": cl.ROUTES[m.route],
            **_period("CM", s, m.start_date, m.end_date, m.ongoing, "DATA COLLECTION"),
        }

    def therapy(t: PriorTherapyLine, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        yield _head("CM", s, "CM", seq(0), f"LINE-{t.pk}") | {
            "CMTRT": t.regimen,
            "CMDECOD": "",
            "CMCAT": "PRIOR CANCER THERAPY",
            "CMSCAT": f"LINE {t.line_number}",
            "CMINDC": "",
            "CMCLAS": "",
            "CMCLASCD": "",
            "CMDOSE": None,
            "CMDOSU": "",
            "CMDOSFRQ": "",
            "CMROUTE": "",
            **_period("CM", s, t.start_date, t.end_date, False, ""),
        }

    yield from _stream(
        user, [(Medication, ("participant",), medication), (PriorTherapyLine, ("participant",), therapy)], 1
    )


def _period(prefix: str, s: Subject, start: Any, end: Any, ongoing: bool, reference: str) -> Row:
    return {
        f"{prefix}STDTC": "" if start is None else start.isoformat(),
        f"{prefix}ENDTC": "" if end is None or ongoing else end.isoformat(),
        f"{prefix}STDY": s.day(start),
        f"{prefix}ENDY": None if ongoing else s.day(end),
        f"{prefix}ENRTPT": "ONGOING" if ongoing else "",
        f"{prefix}ENTPT": reference if ongoing else "",
    }


# -- MH ---------------------------------------------------------------------------------------------------------
def iter_mh(user: Any) -> Iterator[Row]:
    def history(h: MedicalHistory, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        period = _period("MH", s, h.start_date, h.end_date, h.ongoing, "SCREENING")
        yield _head("MH", s, "MH", seq(0), f"MH-{h.pk}") | {
            "MHTERM": h.term,
            "MHLLTCD": int(h.meddra_code) if h.meddra_code.isdigit() else None,
            "MHCAT": "GENERAL MEDICAL HISTORY",
            "MHSCAT": "AUTOIMMUNE DISEASE" if h.autoimmune else "",
            **{k: v for k, v in period.items() if not k.endswith("DY")},
        }

    def cancer(c: CancerHistory, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        yield _head("MH", s, "MH", seq(0), f"CANCER-{c.pk}") | {
            "MHTERM": c.histology,
            "MHLLTCD": None,
            "MHCAT": "CANCER HISTORY",
            "MHSCAT": "PRIMARY DIAGNOSIS",
            "MHSTDTC": "" if c.diagnosis_date is None else c.diagnosis_date.isoformat(),
            "MHENDTC": "",
            "MHENRTPT": "ONGOING",
            "MHENTPT": "SCREENING",
        }

    yield from _stream(
        user, [(MedicalHistory, ("participant",), history), (CancerHistory, ("participant",), cancer)], 1
    )


# -- VS ---------------------------------------------------------------------------------------------------------
VITALS = (
    ("SYSBP", "systolic_mmhg"),
    ("DIABP", "diastolic_mmhg"),
    ("PULSE", "pulse_bpm"),
    ("TEMP", "temperature_c"),
    ("RESP", "respiratory_rate"),
    ("OXYSAT", "spo2_pct"),
)
BODY = (("WEIGHT", "weight_kg"), ("HEIGHT", "height_cm"))
VS_TPT = {"pre_infusion": "PRE-INFUSION", "post_infusion": "POST-INFUSION"}


def _vs(s: Subject, seq: int, spid: str, test: str, value: Any, when: str, day: Any, timing: Row) -> Row:
    name, unit = cl.VS_TESTS[test]
    return (
        _head("VS", s, "VS", seq, spid)
        | {"VSTESTCD": test, "VSTEST": name}
        | _results("VS", value, unit)
        | timing
        | {"VSDTC": when, "VSDY": day}
    )


def iter_vs(user: Any) -> Iterator[Row]:
    def vitals(v: VitalSigns, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        dose = v.tracer_dose
        visit_id = v.visit_id or (dose.visit_id if dose else None)
        timing = ctx.visit(visit_id, s, v.measured_at)
        tpt = {
            "VSTPT": VS_TPT.get(v.timepoint, "") if dose else "",
            "VSTPTREF": cl.TRACER_INFUSION if dose else "",
            "VSRFTDTC": s.local(dose.administered_at) if dose else "",
        }
        for slot, (test, attr) in enumerate(VITALS):
            value = getattr(v, attr)
            if value is not None:
                when = s.local(v.measured_at)
                yield (
                    _vs(s, seq(slot), f"VITALS-{v.pk}", test, value, when, s.day(v.measured_at), timing) | tpt
                )

    def body(b: BodyMeasurement, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        timing = ctx.visit(b.visit_id, s, b.measured_on)
        blank = {"VSTPT": "", "VSTPTREF": "", "VSRFTDTC": ""}
        for slot, (test, attr) in enumerate(BODY, len(VITALS)):
            value = getattr(b, attr)
            if value is not None:
                when = b.measured_on.isoformat()
                yield (
                    _vs(s, seq(slot), f"BODY-{b.pk}", test, value, when, s.day(b.measured_on), timing) | blank
                )

    yield from _stream(
        user,
        [
            (VitalSigns, ("participant", "tracer_dose"), vitals),
            (BodyMeasurement, ("participant",), body),
        ],
        len(VITALS) + len(BODY),
    )


# -- LB ---------------------------------------------------------------------------------------------------------
def nrind(value: Decimal, lln: Decimal | None, uln: Decimal | None) -> str:
    """LBNRIND from the site laboratory's reference range ('' when the range is not given)."""
    if lln is not None and value < lln:
        return "LOW"
    if uln is not None and value > uln:
        return "HIGH"
    return "NORMAL" if lln is not None or uln is not None else ""


def iter_lb(user: Any) -> Iterator[Row]:
    def lab(r: LabResult, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        code = cl.LB_CODE.get(r.test_code, r.test_code)
        category, specimen = cl.LB_CATS[r.panel]
        graded = r.test_code in GRADED_TESTS
        yield (
            _head("LB", s, "LB", seq(0), f"LAB-{r.pk}")
            | {"LBTESTCD": code, "LBTEST": cl.LB_TESTS[code], "LBCAT": category}
            | _results("LB", r.value, r.unit)
            | {
                "LBORNRLO": _num(r.lln),
                "LBORNRHI": _num(r.uln),
                "LBSTNRLO": None if r.lln is None else float(r.lln),
                "LBSTNRHI": None if r.uln is None else float(r.uln),
                "LBNRIND": nrind(r.value, r.lln, r.uln),
                "LBSPEC": specimen,
                "LBBLFL": "Y" if r.is_baseline else "",
                "LBTOX": r.ctcae_term if graded and r.ctcae_grade else "",
                "LBTOXGR": str(r.ctcae_grade) if graded else "",
            }
            | ctx.visit(r.visit_id, s, r.collected_on)
            | {"LBDTC": r.collected_on.isoformat(), "LBDY": s.day(r.collected_on)}
        )

    yield from _stream(user, [(LabResult, ("participant",), lab)], 1)


# -- PC and SUPPPC ----------------------------------------------------------------------------------------------
def _hours(minutes: Decimal | None) -> str:
    return "" if minutes is None else f"{round(float(minutes) / 60, 4):g}"


def iter_pc(user: Any, *, supp: bool = False) -> Iterator[Row]:
    def sample(p: PkSample, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        dose = p.tracer_dose
        if supp:
            if p.minutes_after_injection is not None:
                yield {
                    "STUDYID": STUDYID,
                    "RDOMAIN": "PC",
                    "USUBJID": s.usubjid,
                    "IDVAR": "PCSEQ",
                    "IDVARVAL": str(seq(0)),
                    "QNAM": "PCAELTM",
                    "QLABEL": cl.SUPPPC_QUALIFIERS["PCAELTM"],
                    "QVAL": _hours(p.minutes_after_injection),
                    "QORIG": "Derived",
                    "QEVAL": "",
                }
            return
        yield (
            _head("PC", s, "PC", seq(0), f"PK-{p.pk}")
            | {"PCTESTCD": cl.PC_TEST[0], "PCTEST": cl.PC_TEST[1]}
            | _results("PC", p.activity_bq_per_ml, "Bq/mL")
            | {"PCSPEC": "SERUM"}
            | ctx.visit(dose.visit_id, s, p.sampled_at)
            | {
                "PCDTC": s.local(p.sampled_at),
                "PCDY": s.day(p.sampled_at),
                "PCTPT": p.nominal_timepoint,
                "PCTPTREF": cl.TRACER_INFUSION,
                "PCRFTDTC": s.local(dose.administered_at),
            }
        )

    yield from _stream(user, [(PkSample, ("participant", "tracer_dose"), sample)], 1)


# -- PP ---------------------------------------------------------------------------------------------------------
def _injections(user: Any) -> dict[tuple[int, str], dt.datetime]:
    """First live tracer dose of each (participant, tracer visit code) of the user's sites: PPRFTDTC."""
    doses = access.scope_to_user(TracerDose.objects.filter(voided=False), user).order_by("administered_at")
    out: dict[tuple[int, str], dt.datetime] = {}
    for pid, code, when in doses.values_list("participant_id", "visit__code", "administered_at").iterator(
        chunk_size=CHUNK
    ):
        out.setdefault((pid, code), when)
    return out


def iter_pp(user: Any) -> Iterator[Row]:
    """The stored PK parameters (kinetics.PkParameter): one row each, PPGRPID naming the curve."""
    injections = _injections(user)

    def parameter(p: PkParameter, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        value = p.value
        text = "" if value is None else f"{value:.6g}"
        unit = p.unit if text else ""
        injected = injections.get((p.participant_id, p.tracer_visit_code))
        yield _head("PP", s, "PP", seq(0), f"PKPARAM-{p.pk}") | {
            "PPGRPID": f"{p.tracer_visit_code}:{p.series_key}:{p.quantity}"[:120],
            "PPTESTCD": p.test_code,
            "PPTEST": p.test_name,
            "PPCAT": "SERUM" if p.category == "serum" else "PET IMAGE-DERIVED",
            "PPSCAT": cl.PP_SCATS.get(p.quantity, ""),
            "PPORRES": text,
            "PPORRESU": unit,
            "PPSTRESC": text,
            "PPSTRESN": value,
            "PPSTRESU": unit,
            "PPSTAT": "" if text else "NOT DONE",
            "PPREASND": "" if text else p.not_done_reason,
            "PPSPEC": p.specimen,
            "PPRFTDTC": s.local(injected),
        }

    yield from _stream(user, [(PkParameter, ("participant",), parameter)], 1)


# -- IS ---------------------------------------------------------------------------------------------------------
def iter_is(user: Any) -> Iterator[Row]:
    def ada(a: AdaSample, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        if a.result == "pending":  # no result yet: the sample is reported once it is resulted
            return
        result = a.result.upper()
        tests = [("ADA", result, None)]
        if a.titre is not None:
            tests.append(("ADATITER", str(a.titre), float(a.titre)))
        for slot, (code, text, number) in enumerate(tests):
            yield (
                _head("IS", s, "IS", seq(slot), f"ADA-{a.pk}")
                | {
                    "ISREFID": a.sample_id,
                    "ISTESTCD": code,
                    "ISTEST": cl.IS_TESTS[code],
                    "ISBDAGNT": "crefmirlimab",
                    "ISORRES": text,
                    "ISORRESU": "",
                    "ISSTRESC": text,
                    "ISSTRESN": number,
                    "ISSTRESU": "",
                    "ISSPEC": "SERUM",
                }
                | ctx.visit(a.visit_id, s, a.collected_on)
                | {"ISDTC": a.collected_on.isoformat(), "ISDY": s.day(a.collected_on)}
            )

    yield from _stream(user, [(AdaSample, ("participant",), ada)], 2)


# -- DS ---------------------------------------------------------------------------------------------------------
def iter_ds(user: Any) -> Iterator[Row]:
    def disposition(d: Disposition, s: Subject, ctx: Context, seq: Callable[[int], int]) -> Iterator[Row]:
        died = d.status == "death"
        when = d.death_date if died and d.death_date else d.end_date
        term = d.get_status_display()
        if d.status == "other" and d.details.strip():
            term = d.details.strip()
        elif died and d.death_cause:
            term = f"Death: {d.death_cause}"
        yield _head("DS", s, "DS", seq(0), f"EOS-{d.pk}") | {
            "DSTERM": term[:200],
            "DSDECOD": cl.DS_DECOD[d.status],
            "DSCAT": "DISPOSITION EVENT",
            "DSSCAT": "STUDY PARTICIPATION",
            "EPOCH": s.epoch(when),
            "DSSTDTC": when.isoformat(),
            "DSSTDY": s.day(when),
        }

    yield from _stream(user, [(Disposition, ("participant",), disposition)], 1)


STREAMS: dict[str, Callable[[Any], Iterator[Row]]] = {
    "CM": iter_cm,
    "MH": iter_mh,
    "VS": iter_vs,
    "LB": iter_lb,
    "PC": iter_pc,
    "SUPPPC": lambda user: iter_pc(user, supp=True),
    "PP": iter_pp,
    "IS": iter_is,
    "DS": iter_ds,
}
