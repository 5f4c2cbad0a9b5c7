"""DM rows: one per participant of the user's sites, then one per screen failure of the screening log.

Reference dates: RFSTDTC = RFXSTDTC = first 89Zr-Df-crefmirlimab injection and RFXENDTC = last administration of
any study treatment (tracer or anti-PD-1), site-local with offset; RFENDTC = end-of-study date, else RFXENDTC;
RFICDTC = first informed consent; RFPENDTC = the latest of end-of-study, last contact and death dates. DTHDTC/DTHFL
from the end-of-study (death) form, else a fatal AE's death date. AGE in completed years at informed consent from
the year of birth (birth date taken as 1 July: the casebook keeps the year only). RACE and ETHNIC are not
collected by this trial's casebook and stay empty (define.xml says so). Screening-log entries that failed
eligibility criteria are subjects too (USUBJID CD8PET-<site>-SF<id>, ARMNRS SCREEN FAILURE, AGETXT the logged
age band), so that IE can name them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from casebook.models import Disposition, ScreeningLogEntry
from exports import sdtm_clinical_data
from exports.sdtm_clinical_data import Context, Subject
from exports.sdtm_design import ARM
from exports.sdtm_vars import STUDYID
from safety.models import AdverseEvent
from trial import access
from trial.models import AntiPD1Dose, Consent, Participant, ParticipantStatusChange, TracerDose
from trial.site_time import site_zone

COUNTRY3 = {
    "NL": "NLD",
    "BE": "BEL",
    "DE": "DEU",
    "FR": "FRA",
    "GB": "GBR",
    "ES": "ESP",
    "IT": "ITA",
    "US": "USA",
}
Row = dict[str, Any]


def first_by_participant(qs: Any, field: str, *, last: bool = False) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for pid, value in (
        qs.order_by(("-" if last else "") + field)
        .values_list("participant_id", field)
        .iterator(chunk_size=sdtm_clinical_data.CHUNK)
    ):
        out.setdefault(pid, value)
    return out


def age_at(year_of_birth: int, on: dt.date) -> int:
    """Completed years on a date for a birth date taken as 1 July of the year of birth."""
    return on.year - year_of_birth - (1 if (on.month, on.day) < (7, 1) else 0)


def screen_failure_id(entry: Any) -> str:
    return f"{entry.site.code}-SF{entry.pk:04d}"


def screen_failures(user: Any) -> Iterator[Any]:
    """Live screening-log entries of the user's sites that name failed eligibility criteria, by site and id."""
    qs = access.scope_to_user(ScreeningLogEntry.objects.filter(voided=False), user, site_field="site")
    for entry in (
        qs.select_related("site").order_by("site__code", "id").iterator(chunk_size=sdtm_clinical_data.CHUNK)
    ):
        if entry.failed_criteria:
            yield entry


def _death(ids: Any) -> dict[int, dt.date]:
    """Death date per participant: the end-of-study form's, else a fatal adverse event's."""
    deaths: dict[int, dt.date] = {}
    for pid, when in (
        AdverseEvent.objects.filter(
            voided=False, participant__in=ids, outcome="fatal", death_date__isnull=False
        )
        .order_by("death_date")
        .values_list("participant_id", "death_date")
    ):
        deaths.setdefault(pid, when)
    for pid, when in (
        Disposition.objects.filter(voided=False, participant__in=ids, death_date__isnull=False)
        .order_by("death_date")
        .values_list("participant_id", "death_date")
    ):
        deaths[pid] = when  # the end-of-study form is the authority
    return deaths


def iter_dm(user: Any) -> Iterator[Row]:
    ctx = Context(user)
    participants = access.scope_to_user(Participant.objects.filter(voided=False), user, site_field="site")
    ids = participants.values("pk")
    live = {"voided": False, "participant__in": ids}
    last_tracer = first_by_participant(TracerDose.objects.filter(**live), "administered_at", last=True)
    last_pd1 = first_by_participant(AntiPD1Dose.objects.filter(**live), "administered_at", last=True)
    consent = first_by_participant(Consent.objects.filter(**live), "consent_date")
    ends: dict[int, Any] = {}
    for d in Disposition.objects.filter(**live).order_by("end_date", "id"):
        ends[d.participant_id] = d  # the latest end-of-study record
    deaths = _death(ids)
    enrolled = {
        pid: date
        for pid, date in ParticipantStatusChange.objects.filter(participant__in=ids, to_status="enrolled")
        .order_by("-date")
        .values_list("participant_id", "date")
    }
    for p in (
        participants.select_related("site").order_by("study_id").iterator(chunk_size=sdtm_clinical_data.CHUNK)
    ):
        s = ctx.subjects[p.pk]
        row = _participant_row(
            p, s, last_tracer, last_pd1, consent.get(p.pk), ends.get(p.pk), deaths.get(p.pk)
        )
        collected = enrolled.get(p.pk)
        if collected is not None:  # demographics are collected at enrolment
            row |= {"DMDTC": collected.isoformat(), "DMDY": s.day(collected)}
        yield row
    for entry in screen_failures(user):
        yield _screen_failure_row(entry)


def _participant_row(
    p: Any, s: Subject, last_tracer: dict, last_pd1: dict, consent: Any, end: Any, death: Any
) -> Row:
    last_dose = max((w for w in (last_tracer.get(p.pk), last_pd1.get(p.pk)) if w is not None), default=None)
    treated = s.first_dose is not None
    failed = p.status == "screen_failure"
    participation = [d for d in (end and end.end_date, end and end.last_contact_date, death) if d]
    if failed and not participation:
        participation = [p.status_date]
    created = p.created_at.astimezone(s.zone).date()
    return {
        "STUDYID": STUDYID,
        "DOMAIN": "DM",
        "USUBJID": s.usubjid,
        "SUBJID": p.study_id,
        "RFSTDTC": s.local(s.first_dose),
        "RFENDTC": end.end_date.isoformat() if end else s.local(last_dose),
        "RFXSTDTC": s.local(s.first_dose),
        "RFXENDTC": s.local(last_dose),
        "RFICDTC": consent.isoformat() if consent else "",
        "RFPENDTC": max(participation).isoformat() if participation else "",
        "DTHDTC": death.isoformat() if death else "",
        "DTHFL": "Y" if death else "",
        "SITEID": p.site.code,
        "BRTHDTC": str(p.year_of_birth),
        "AGE": age_at(p.year_of_birth, consent) if consent else None,
        "AGETXT": "",
        "AGEU": "YEARS" if consent else "",
        "SEX": p.sex,
        "RACE": "",
        "ETHNIC": "",
        "ARMCD": "" if failed else ARM[0],
        "ARM": "" if failed else ARM[1],
        "ACTARMCD": ARM[0] if treated and not failed else "",
        "ACTARM": ARM[1] if treated and not failed else "",
        "ARMNRS": "SCREEN FAILURE" if failed else ("" if treated else "ASSIGNED, NOT TREATED"),
        "ACTARMUD": "",
        "COUNTRY": COUNTRY3.get(p.site.country, p.site.country),
        "DMDTC": created.isoformat(),
        "DMDY": s.day(created),
    }


def _screen_failure_row(entry: Any) -> Row:
    subject = screen_failure_id(entry)
    return {
        "STUDYID": STUDYID,
        "DOMAIN": "DM",
        "USUBJID": f"{STUDYID}-{subject}",
        "SUBJID": subject,
        **dict.fromkeys(("RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC", "DTHDTC", "DTHFL"), ""),
        "RFPENDTC": entry.screened_on.isoformat(),
        "SITEID": entry.site.code,
        "BRTHDTC": "",
        "AGE": None,
        "AGETXT": entry.age_band if entry.age_band[:2].isdigit() and "-" in entry.age_band else "",
        "AGEU": "YEARS",
        "SEX": "U",
        "RACE": "",
        "ETHNIC": "",
        **dict.fromkeys(("ARMCD", "ARM", "ACTARMCD", "ACTARM", "ACTARMUD"), ""),
        "ARMNRS": "SCREEN FAILURE",
        "COUNTRY": COUNTRY3.get(entry.site.country, entry.site.country),
        "DMDTC": entry.screened_on.isoformat(),
        "DMDY": None,
    }


def subject_of_entry(entry: Any) -> Subject:
    """A Subject for a screening-log entry (no reference start: --DY stays empty, EPOCH SCREENING)."""
    return Subject(f"{STUDYID}-{screen_failure_id(entry)}", site_zone(entry.site.time_zone), None)
