"""Missing forms per the protocol calendar: which forms a visit expects (VisitDefinition.expected_forms, data
loaded from trial/protocol/*.json) and which of them no live record answers yet.

A form key names a record kind of the casebook (or trial/imaging); `key:qualifier` narrows it (the vital signs
before or after the tracer infusion). A visit-bound record answers a visit when it is linked to that visit
(directly or through its tracer infusion) or, unlinked, when its date falls inside the visit's window; a
participant-level record (history, end of study) answers every visit of its participant.

Only visits whose window has opened count, never a missed or voided visit, and a planned visit only while the
participant is still in the study. A missing form is overdue once the visit's window has closed.

`missing_forms` runs a constant number of SQL queries (one for the visits, one per kind of form asked about),
whatever the number of sites, participants and visits (tests/monitoring/test_missing_forms.py counts them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from trial import access
from trial.models import ParticipantStatus, Visit, VisitStatus

IN_STUDY = (
    ParticipantStatus.SCREENING,
    ParticipantStatus.ENROLLED,
    ParticipantStatus.ON_TREATMENT,
    ParticipantStatus.FOLLOW_UP,
)


@dataclass(frozen=True)
class FormKind:
    key: str
    label: str
    casebook_slug: str  # casebook record list to add it from ("" when entered elsewhere)
    participant_level: bool
    # rows (participant_id, linked visit ids, date or None, qualifier value) of every live record
    rows: Callable[[QuerySet], Iterable[tuple[int, tuple[int | None, ...], dt.date | None, str]]]


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _visit_rows(model_path: str, *, visit: str = "visit_id", date: str, qualifier: str = "") -> Callable:
    def rows(participants: QuerySet) -> Iterable[tuple[int, tuple[int | None, ...], dt.date | None, str]]:
        from django.apps import apps

        model = apps.get_model(model_path)
        links = visit.split(",")
        fields = ["participant_id", *links, date, *([qualifier] if qualifier else [])]
        for r in model.objects.filter(voided=False, participant__in=participants).values_list(*fields):
            yield (
                r[0],
                tuple(r[1 : 1 + len(links)]),
                _date(r[1 + len(links)]),
                r[-1] if qualifier else "",
            )

    return rows


def _participant_rows(model_path: str) -> Callable:
    def rows(participants: QuerySet) -> Iterable[tuple[int, tuple[int | None, ...], dt.date | None, str]]:
        from django.apps import apps

        model = apps.get_model(model_path)
        ids = model.objects.filter(voided=False, participant__in=participants).values_list(
            "participant_id", flat=True
        )
        for pid in ids.distinct():
            yield (pid, (), None, "")

    return rows


def _pet_image_rows(
    participants: QuerySet,
) -> Iterable[tuple[int, tuple[int | None, ...], dt.date | None, str]]:
    from imaging.models import Scan, ScanStatus

    scans = Scan.objects.filter(
        voided=False,
        participant__in=participants,
        status__in=(ScanStatus.UPLOADED, ScanStatus.ANALYSED),
    ).values_list("participant_id", "visit_id")
    for pid, visit_id in scans:
        yield (pid, (visit_id,), None, "")


FORM_KINDS: dict[str, FormKind] = {
    k.key: k
    for k in (
        FormKind(
            "medical-history",
            "Medical history",
            "medical-history",
            True,
            _participant_rows("casebook.MedicalHistory"),
        ),
        FormKind(
            "cancer-history",
            "Cancer history",
            "cancer-history",
            True,
            _participant_rows("casebook.CancerHistory"),
        ),
        FormKind("medications", "Medications", "medications", True, _participant_rows("casebook.Medication")),
        FormKind(
            "vital-signs",
            "Vital signs",
            "vital-signs",
            False,
            _visit_rows(
                "casebook.VitalSigns",
                visit="visit_id,tracer_dose__visit_id",
                date="measured_at",
                qualifier="timepoint",
            ),
        ),
        FormKind(
            "weight",
            "Weight and height",
            "weight",
            False,
            _visit_rows("casebook.BodyMeasurement", date="measured_on"),
        ),
        FormKind(
            "ecog",
            "ECOG performance status",
            "ecog",
            False,
            _visit_rows("casebook.EcogAssessment", date="assessed_on"),
        ),
        FormKind(
            "labs",
            "Laboratory results",
            "labs",
            False,
            _visit_rows("casebook.LabResult", date="collected_on"),
        ),
        FormKind(
            "pk-samples",
            "PK blood samples",
            "pk-samples",
            False,
            _visit_rows("casebook.PkSample", visit="tracer_dose__visit_id", date="sampled_at"),
        ),
        FormKind(
            "ada-samples",
            "Anti-drug antibody samples",
            "ada-samples",
            False,
            _visit_rows("casebook.AdaSample", date="collected_on"),
        ),
        FormKind(
            "tracer-dose",
            "Tracer injection",
            "",
            False,
            _visit_rows("trial.TracerDose", date="administered_at"),
        ),
        FormKind("pet-images", "PET images uploaded", "", False, _pet_image_rows),
        FormKind(
            "end-of-study", "End of study", "end-of-study", True, _participant_rows("casebook.Disposition")
        ),
    )
}

QUALIFIER_LABELS = {"pre_infusion": "before tracer infusion", "post_infusion": "after tracer infusion"}


def form_label(key: str) -> str:
    base, _, qualifier = key.partition(":")
    kind = FORM_KINDS.get(base)
    label = kind.label if kind else base
    return f"{label} ({QUALIFIER_LABELS.get(qualifier, qualifier)})" if qualifier else label


def form_choices() -> list[tuple[str, str]]:
    """Every form key some visit definition of the calendar expects, with its label (for the filter)."""
    from trial.models import VisitDefinition

    keys: list[str] = []
    for forms in VisitDefinition.objects.values_list("expected_forms", flat=True):
        keys.extend(k for k in forms or [] if k not in keys)
    return [(k, form_label(k)) for k in keys]


@dataclass(frozen=True)
class MissingForm:
    participant_id: int
    study_id: str
    site_code: str
    visit_id: int
    visit_name: str
    window_start: dt.date
    window_end: dt.date
    form: str
    label: str
    casebook_slug: str
    overdue: bool


def candidate_visits(user: Any, *, site_code: str = "", participant_id: int | None = None) -> QuerySet[Visit]:
    """Live visits of live participants in the user's sites that expect forms (window opening filtered later)."""
    qs = access.scope_to_user(
        Visit.objects.filter(
            voided=False,
            participant__voided=False,
            definition__isnull=False,
            status__in=(VisitStatus.PLANNED, VisitStatus.DONE),
        ).select_related("participant", "participant__site", "definition"),
        user,
    )
    if site_code:
        qs = qs.filter(participant__site__code=site_code)
    if participant_id is not None:
        qs = qs.filter(participant_id=participant_id)
    return qs.order_by("participant__site__code", "participant__study_id", "planned_date", "id")


def _answers(
    visit: Visit, rows: list[tuple[tuple[int | None, ...], dt.date | None, str]], qualifier: str
) -> bool:
    for links, date, value in rows:
        if qualifier and value != qualifier:
            continue
        linked = [v for v in links if v is not None]
        if linked:
            if visit.pk in linked:
                return True
        elif date is not None and visit.window_start <= date <= visit.window_end:
            return True
    return False


def missing_forms(
    user: Any,
    *,
    today: dt.date | None = None,
    site_code: str = "",
    form: str = "",
    participant_id: int | None = None,
) -> list[MissingForm]:
    """Every expected form not yet recorded, for visits whose window has opened, in the user's sites."""
    today = today or timezone.localdate()
    candidates = candidate_visits(user, site_code=site_code, participant_id=participant_id)
    fetched = [v for v in candidates if v.definition.expected_forms]
    # the kinds to read follow the calendar, not the day: the number of queries stays the same as visits open
    wanted = {
        k.partition(":")[0] for v in fetched for k in v.definition.expected_forms if not form or k == form
    }
    visits = [
        v
        for v in fetched
        if v.window_start <= today
        and (v.status == VisitStatus.DONE or v.participant.status in IN_STUDY)
        and (not form or form in v.definition.expected_forms)
    ]
    participants = candidates.values("participant_id")
    records: dict[str, dict[int, list[tuple[tuple[int | None, ...], dt.date | None, str]]]] = {}
    for key in sorted(wanted):
        kind = FORM_KINDS.get(key)
        if kind is None:
            continue
        by_participant: dict[int, list[tuple[tuple[int | None, ...], dt.date | None, str]]] = defaultdict(
            list
        )
        for pid, links, date, value in kind.rows(participants):
            by_participant[pid].append((links, date, value))
        records[key] = by_participant
    out: list[MissingForm] = []
    for v in visits:
        for key in v.definition.expected_forms:
            if form and key != form:
                continue
            base, _, qualifier = key.partition(":")
            kind = FORM_KINDS.get(base)
            if kind is None:
                continue
            rows = records[base].get(v.participant_id, [])
            answered = bool(rows) if kind.participant_level else _answers(v, rows, qualifier)
            if answered:
                continue
            out.append(
                MissingForm(
                    participant_id=v.participant_id,
                    study_id=v.participant.study_id,
                    site_code=v.participant.site.code,
                    visit_id=v.pk,
                    visit_name=v.name,
                    window_start=v.window_start,
                    window_end=v.window_end,
                    form=key,
                    label=form_label(key),
                    casebook_slug=kind.casebook_slug,
                    overdue=v.window_end < today,
                )
            )
    return out


def counts_by_site(rows: list[MissingForm]) -> list[dict[str, Any]]:
    """Per site: missing forms and how many of them are overdue."""
    sites: dict[str, dict[str, Any]] = {}
    for r in rows:
        s = sites.setdefault(r.site_code, {"site": r.site_code, "missing": 0, "overdue": 0})
        s["missing"] += 1
        s["overdue"] += int(r.overdue)
    return [sites[k] for k in sorted(sites)]
