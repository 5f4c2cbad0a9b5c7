"""Reads of monitoring, scoped to the user's sites: locks, SDV status and progress, work queues, overview."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from monitoring import targets
from monitoring.models import CasebookSignature, DataLock, LockScope, RefusedWrite, SdvMark
from monitoring.plans import SdvPlan, current_plan
from monitoring.targets import form_label
from trial import access
from trial.models import Participant, ParticipantStatus, Role, Visit, VisitStatus


def lock_list(*, user: Any, live_only: bool = False) -> QuerySet[DataLock]:
    """Locks the user may see: study locks, and those of visible sites."""
    qs = DataLock.objects.select_related("site", "participant", "created_by", "released_by")
    ids = access.visible_site_ids(user)
    if ids is not None:
        qs = qs.filter(Q(scope=LockScope.STUDY) | Q(site_id__in=ids))
    if live_only:
        qs = qs.filter(released_at__isnull=True)
    return qs.order_by("-id")


def refused_writes(*, user: Any) -> QuerySet[RefusedWrite]:
    """Writes refused by a freeze or lock with nobody on the page (worker recomputes) at the user's sites."""
    qs = RefusedWrite.objects.select_related("participant", "site")
    ids = access.visible_site_ids(user)
    if ids is not None:
        qs = qs.filter(site_id__in=ids)
    return qs.order_by("-at", "-id")


def casebook_lock(participant: Participant) -> DataLock | None:
    from monitoring.services.common import live_lock

    return live_lock(participant=participant.pk, site=participant.site_id)


def sdv_marks(*, user: Any, resource: str = "", object_id: int | None = None) -> QuerySet[SdvMark]:
    qs = access.scope_to_user(
        SdvMark.objects.select_related("verified_by", "participant"), user, site_field="site"
    )
    if resource:
        qs = qs.filter(resource=resource)
    if object_id is not None:
        qs = qs.filter(object_id=object_id)
    return qs.order_by("id")


@dataclass
class RecordStatus:
    resource: str
    id: int
    participant_id: int
    visit_id: int | None
    required: bool
    why: str
    state: str = "not verified"  # verified | changed since verification | not verified
    fields: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.state == "verified"

    @property
    def label(self) -> str:
        return form_label(self.resource)


def _mark_states(marks: list[SdvMark]) -> dict[tuple[str, int], tuple[str, list[str]]]:
    """(resource, id) -> (state, verified fields) from the marks of those records."""
    by_record: dict[tuple[str, int], list[SdvMark]] = defaultdict(list)
    for m in marks:
        by_record[(m.resource, m.object_id)].append(m)
    out = {}
    for key, ms in by_record.items():
        live = {m.field for m in ms if m.cleared_at is None}
        cleared = {m.field for m in ms if m.cleared_at is not None}
        changed = bool(cleared - live) and "" not in live
        state = "changed since verification" if changed else "verified" if live else "not verified"
        out[key] = (state, sorted(f or "(record)" for f in live))
    return out


def record_statuses(participants: QuerySet[Participant], plan: SdvPlan | None = None) -> list[RecordStatus]:
    """Every live record of the plan's resources for these participants, with its SDV state."""
    from exports.resources import load_all

    plan = plan or current_plan()
    resources = load_all()
    pids = list(participants.values_list("pk", flat=True))
    rows: list[RecordStatus] = []
    for name in plan.resources:
        resource = resources.get(name)
        if resource is None:
            continue
        path = targets.participant_path(resource.model)
        if path is None:
            continue
        ppath = "pk" if path == () else "__".join(path)
        visit_path = _visit_path(resource.model)
        cols = ["pk", ppath] + ([visit_path] if visit_path else [])
        qs = resource.model._base_manager.filter(**{f"{ppath}__in": pids})
        if any(f.name == "voided" for f in resource.model._meta.concrete_fields):
            qs = qs.filter(voided=False)
        for row in qs.values_list(*cols):
            rows.append(
                RecordStatus(
                    resource=name,
                    id=row[0],
                    participant_id=row[1],
                    visit_id=row[2] if visit_path else (row[0] if name == "visits" else None),
                    required=plan.requires(name, row[0]),
                    why=plan.reason(name),
                )
            )
    marks = list(SdvMark.objects.filter(participant_id__in=pids))
    states = _mark_states(marks)
    for r in rows:
        r.state, r.fields = states.get((r.resource, r.id), ("not verified", []))
    return rows


def _visit_path(model: Any) -> str:
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model is Visit:
            return f.name
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model is not None:
            for g in f.related_model._meta.concrete_fields:
                if g.is_relation and g.related_model is Visit:
                    return f"{f.name}__{g.name}"
    return ""


@dataclass
class Progress:
    label: str
    key: Any = None
    required: int = 0
    verified: int = 0
    changed: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.verified / self.required) if self.required else 100


def progress_by(rows: list[RecordStatus], key: Any, labels: dict[Any, str]) -> list[Progress]:
    out: dict[Any, Progress] = {}
    for r in rows:
        if not r.required:
            continue
        k = key(r)
        if k is None:
            continue
        p = out.setdefault(k, Progress(labels.get(k, str(k)), key=k))
        p.required += 1
        p.verified += r.verified
        p.changed += r.state == "changed since verification"
    return sorted(out.values(), key=lambda p: p.label)


def visible_participants(user: Any) -> QuerySet[Participant]:
    return access.scope_to_user(
        Participant.objects.filter(voided=False).select_related("site"), user, site_field="site"
    )


def site_progress(user: Any) -> list[Progress]:
    participants = visible_participants(user)
    rows = record_statuses(participants)
    site_of = dict(participants.values_list("pk", "site__code"))
    return progress_by(rows, lambda r: site_of.get(r.participant_id), {})


def worklist(user: Any) -> list[RecordStatus]:
    """Required records not verified (or changed since verification) at the monitor's sites, oldest first."""
    rows = record_statuses(visible_participants(user))
    todo = [r for r in rows if r.required and not r.verified]
    todo.sort(key=lambda r: (r.state != "changed since verification", r.participant_id, r.resource, r.id))
    return todo


# --- investigator's work queue ----------------------------------------------------------------------


def investigator_queue(user: Any) -> dict[str, list[dict[str, Any]]]:
    """AEs and casebooks waiting for this investigator's signature at their sites; SAEs first."""
    from safety import services as safety_services
    from safety.models import AdverseEvent

    site_ids = list(access.sites_where(user, "sign_adverse_events").values_list("pk", flat=True))
    participants = list(
        Participant.objects.filter(site_id__in=site_ids, voided=False)
        .exclude(status=ParticipantStatus.SCREEN_FAILURE)
        .select_related("site")
        .order_by("study_id")
    )
    ae_counts = {
        row["participant_id"]: row
        for row in AdverseEvent.objects.filter(participant__in=participants, voided=False)
        .values("participant_id")
        .annotate(n=Count("id"), saes=Count("id", filter=Q(serious=True)))
    }
    signed = set(
        CasebookSignature.objects.filter(participant__in=participants, voided=False).values_list(
            "participant_id", flat=True
        )
    )
    aes, casebooks = [], []
    for p in participants:
        counts = ae_counts.get(p.pk)
        saes = counts["saes"] if counts else 0
        if counts:
            sig = safety_services.active_signature(p)
            if sig is None or not safety_services.signature_is_intact(sig):
                aes.append(
                    {"participant": p, "aes": counts["n"], "saes": saes, "was_signed": sig is not None}
                )
        if p.pk not in signed:
            casebooks.append({"participant": p, "saes": saes})
    aes.sort(key=lambda i: (-i["saes"], i["participant"].study_id))
    casebooks.sort(key=lambda i: (-i["saes"], i["participant"].study_id))
    return {"aes": aes, "casebooks": casebooks}


def is_investigator(user: Any) -> bool:
    return Role.INVESTIGATOR in access.all_roles(user)


# --- data manager's overview ------------------------------------------------------------------------


def overdue_visits(user: Any, today: dt.date | None = None) -> list[Visit]:
    """Visits due per the protocol calendar and not done: the window closed and the visit is still planned."""
    today = today or timezone.now().date()
    qs = access.scope_to_user(
        Visit.objects.filter(
            voided=False, status=VisitStatus.PLANNED, participant__voided=False
        ).select_related("participant", "participant__site"),
        user,
    )
    out = [
        v
        for v in qs.order_by("planned_date", "id")
        if v.planned_date + dt.timedelta(days=v.window_after) < today
    ]
    return out


def due_visits(user: Any, today: dt.date | None = None) -> list[Visit]:
    """Visits whose window is open today and that are not done yet."""
    today = today or timezone.now().date()
    qs = access.scope_to_user(
        Visit.objects.filter(
            voided=False,
            status=VisitStatus.PLANNED,
            participant__voided=False,
            planned_date__lte=today + dt.timedelta(days=60),
        ).select_related("participant", "participant__site"),
        user,
    )
    return [
        v
        for v in qs.order_by("planned_date", "id")
        if v.planned_date - dt.timedelta(days=v.window_before)
        <= today
        <= v.planned_date + dt.timedelta(days=v.window_after)
    ]
