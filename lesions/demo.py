"""Demo lesions, RECIST assessments and MRI parameters for the lead's load_demo (through services).

Courses are assigned so the demo shows: a confirmed partial response, a PD -> iUPD -> iCPD course,
an iUPD that resets (new lesion that resolves) before a fresh iUPD, and stable disease.
"""

from __future__ import annotations

import random
from typing import Any

from lesions import services
from trial.audit import AuditContext
from trial.models import AuditSource, Visit

# (label, organ, nodal, role, baseline mm)
BASE_LESIONS = (
    ("T1", "liver", False, "target", 42.0),
    ("T2", "lung", False, "target", 28.0),
    ("N1", "lymph node", True, "target", 18.0),
    ("NT1", "bone", False, "non_target", None),
)
# per-course multipliers of the baseline sizes at each follow-up, plus events
COURSES: dict[str, list[dict[str, Any]]] = {
    "icpd": [{"x": 1.25}, {"x": 1.40}, {"x": 1.50, "nt": "unequivocal_progression"}],
    "reset": [{"x": 0.92, "new": 14.0}, {"x": 0.70, "new": 0.0}, {"x": 0.88}, {"x": 0.95}],
    "pr": [{"x": 0.66}, {"x": 0.58}, {"x": 0.52}, {"x": 0.50}],
    "sd": [{"x": 0.95}, {"x": 1.02}, {"x": 1.04}, {"x": 0.99}],
}


def _ctx(user: Any) -> AuditContext:
    return AuditContext(user=user, source=AuditSource.IMPORT)


def _done(participant: Any, kinds: tuple[str, ...]) -> list[Visit]:
    qs = participant.visits.filter(voided=False, kind__in=kinds, status="done", actual_date__isnull=False)
    return list(qs.order_by("actual_date"))


def _record(ctx, participant, visit, date, lesions, sizes, nt_state, new=None) -> None:
    a = services.assessment_create(
        ctx=ctx,
        participant=participant,
        date=date,
        visit=visit,
        modality="mri" if visit.kind == "mri" else "ct",
    )
    entries: dict[int, dict[str, Any]] = {}
    for les in lesions:
        if les.role == "non_target":
            entries[les.pk] = {"non_target_state": nt_state}
        else:
            entries[les.pk] = {"state": "measured", "value_mm": sizes[les.label]}
    if new is not None:
        lesion, mm = new
        entries[lesion.pk] = {"state": "disappeared"} if mm == 0 else {"state": "measured", "value_mm": mm}
    services.measurements_record(ctx=ctx, assessment=a, entries=entries)


def _course_for(index: int, n_followups: int) -> str:
    course = ("icpd", "reset", "pr", "sd", "pr", "reset", "sd", "icpd")[index % 8]
    needed = {"icpd": 2, "reset": 3}.get(course, 1)
    return course if n_followups >= needed else "pr"


def _build_participant(participant: Any, user: Any, course: str, rng: random.Random) -> None:
    ctx = _ctx(user)
    baseline = _done(participant, ("mri",))[:1]
    followups = [v for v in _done(participant, ("ct",))]
    if not baseline:
        return
    scale = rng.uniform(0.85, 1.2)
    lesions = [
        services.lesion_create(
            ctx=ctx,
            participant=participant,
            label=label,
            organ=organ,
            nodal=nodal,
            role=role,
            location=f"{organ} (demo)",
        )
        for label, organ, nodal, role, _ in BASE_LESIONS
    ]
    base = {
        label: round(mm * scale * (1.0 if label != "N1" else 1.0), 1) if mm else None
        for label, _, _, _, mm in BASE_LESIONS
    }
    base["N1"] = max(base["N1"], 16.0)
    _record(ctx, participant, baseline[0], baseline[0].actual_date, lesions, base, "present")
    new_lesion = None
    for visit, step in zip(followups, COURSES[course]):
        sizes = {k: round(v * step["x"] + rng.uniform(-0.4, 0.4), 1) for k, v in base.items() if v}
        new = None
        if "new" in step:
            if new_lesion is None:
                new_lesion = services.lesion_create(
                    ctx=ctx,
                    participant=participant,
                    label="New1",
                    organ="liver",
                    role="new",
                    location="segment VI (demo)",
                )
            new = (new_lesion, step["new"])
        _record(ctx, participant, visit, visit.actual_date, lesions, sizes, step.get("nt", "present"), new)
    _mri(ctx, participant, lesions[0], course, rng)


def _mri(ctx: AuditContext, participant: Any, lesion: Any, course: str, rng: random.Random) -> None:
    """Entered DCE/IVIM/DKI values at baseline and on-treatment MRI (responders: Ktrans falls, D rises)."""
    effect = {"pr": -0.35, "reset": -0.15, "sd": -0.05, "icpd": 0.15}[course]
    for i, visit in enumerate(_done(participant, ("mri",))[:2]):
        f = 1.0 + (effect if i else 0.0)
        common = {"lesion": lesion, "acquired_on": visit.actual_date, "visit": visit}
        services.parameters_enter(
            ctx=ctx,
            kind="dce",
            model="extended_tofts",
            **common,
            values={
                "ktrans_per_min": round(rng.uniform(0.18, 0.3) * f, 4),
                "ve": round(rng.uniform(0.3, 0.45), 3),
                "vp": round(rng.uniform(0.02, 0.06), 3),
                "iauc60_mm_s": round(rng.uniform(15, 25) * f, 2),
            },
        )
        services.parameters_enter(
            ctx=ctx,
            kind="ivim",
            model="ivim_segmented",
            **common,
            values={
                "ivim_f": round(rng.uniform(0.08, 0.15), 3),
                "ivim_dstar_mm2_s": round(rng.uniform(0.02, 0.05), 4),
                "ivim_d_mm2_s": round(rng.uniform(0.0009, 0.0012) * (2 - f), 6),
            },
        )
        services.parameters_enter(
            ctx=ctx,
            kind="dki",
            **common,
            values={
                "dki_d_mm2_s": round(rng.uniform(0.0011, 0.0014) * (2 - f), 6),
                "dki_k": round(rng.uniform(0.8, 1.1), 3),
            },
        )


def build_demo(participants: list[Any], users: dict[str, Any], rng: random.Random) -> None:
    """Lesions, assessments and MRI parameters for participants with a done baseline MRI (idempotent)."""
    index = 0
    for participant in participants:
        if participant.voided or participant.lesions.exists():
            continue
        user = users.get(f"radiologist_{participant.site.code}")
        if user is None or not _done(participant, ("mri",)):
            continue
        n_fu = len(_done(participant, ("ct",)))
        _build_participant(participant, user, _course_for(index, n_fu), rng)
        index += 1
