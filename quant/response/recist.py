"""RECIST 1.1 response engine (Eisenhauer et al., Eur J Cancer 2009;45:228-247).

Plain module, no Django. ``quant.response.evaluate.evaluate()`` runs RECIST 1.1 and iRECIST (``quant.response.irecist``)
over one participant's assessments and returns every time-point response with the rule that fired.

Input conventions:
- the first assessment is the baseline; dates strictly increase;
- ``target_mm``: longest diameter (short axis for nodes) in mm; ``None`` = not assessed, 0 = gone;
  "too small to measure" is entered by the reader as 5 mm;
- ``non_target``: ``absent`` | ``present`` | ``unequivocal_progression`` | ``not_assessed``;
  ``unequivocal_progression`` is read against the nadir state, except while an iRECIST iUPD is
  pending, where it means a further increase since the previous assessment (see ``quant.response.irecist``);
- ``new_lesions``: every new lesion visible at that assessment with a stable id across assessments;
  a listed lesion with ``mm == 0`` or one no longer listed has resolved; a new node under 10 mm short
  axis is normal and ignored.

Not modelled: lesions that reappear after a CR (RECIST FAQ: PD) are only caught through the sums
(a target regrowing >= 5 mm over a 0-mm nadir is PD); a non-target recorded ``present`` again after
``absent`` is NON_CR_NON_PD.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from quant.errors import RecistInputError

EPS = 1e-6
MAX_TARGETS = 5
MAX_TARGETS_PER_ORGAN = 2
MEASURABLE_MM = 10.0
NODE_MEASURABLE_MM = 15.0
NODE_NORMAL_MM = 10.0
PR_FRACTION = 0.7
PD_FRACTION = 1.2
PD_ABSOLUTE_MM = 5.0

TARGET, NON_TARGET = "target", "non_target"
ROLES = (TARGET, NON_TARGET)
ABSENT, PRESENT, UNEQUIVOCAL, NOT_ASSESSED = "absent", "present", "unequivocal_progression", "not_assessed"
NT_STATUSES = (ABSENT, PRESENT, UNEQUIVOCAL, NOT_ASSESSED)

CR, PR, SD, PD, NE, NON_CR_NON_PD = "CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"


@dataclass(frozen=True)
class Settings:
    confirmation_days: int = 28
    sd_minimum_days: int = 42


@dataclass(frozen=True)
class Lesion:
    id: str
    role: str
    organ: str
    nodal: bool = False


@dataclass(frozen=True)
class NewLesion:
    id: str
    organ: str
    nodal: bool = False
    mm: float | None = None


@dataclass(frozen=True)
class Assessment:
    date: dt.date
    target_mm: Mapping[str, float | None] = field(default_factory=dict)
    non_target: Mapping[str, str] = field(default_factory=dict)
    new_lesions: tuple[NewLesion, ...] = ()


@dataclass(frozen=True)
class Reason:
    """Why a response was given: a stable rule code and a short text for the reviewer."""

    code: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True)
class SelectionIssue:
    lesion_ids: tuple[str, ...]
    rule: str
    message: str


@dataclass(frozen=True)
class TargetResult:
    response: str | None  # None when there are no target lesions
    sum_mm: float | None  # None when a target was not assessed
    assessed_sum_mm: float
    reason: Reason


@dataclass(frozen=True)
class Timepoint:
    date: dt.date
    sum_mm: float | None
    target_response: str | None
    non_target_response: str | None
    new_lesion_present: bool
    recist: str | None
    irecist: str | None
    reasons: dict[str, Reason]
    new_lesion_target_sum_mm: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "sum_mm": _round(self.sum_mm),
            "recist": self.recist,
            "irecist": self.irecist,
            "target_response": self.target_response,
            "non_target_response": self.non_target_response,
            "new_lesion_target_sum_mm": _round(self.new_lesion_target_sum_mm),
            "reasons": {k: v.as_dict() for k, v in self.reasons.items()},
        }


@dataclass(frozen=True)
class Evaluation:
    timepoints: list[Timepoint]
    best_recist: str
    best_irecist: str
    best_reasons: dict[str, Reason]
    progression_date: dict[str, dt.date | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "timepoints": [tp.as_dict() for tp in self.timepoints],
            "best_overall_response": {
                "recist": self.best_recist,
                "irecist": self.best_irecist,
                "reasons": {k: v.as_dict() for k, v in self.best_reasons.items()},
                "progression_date": {
                    k: (v.isoformat() if v else None) for k, v in self.progression_date.items()
                },
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _fmt(value: float) -> str:
    return f"{value:g}"


# ---------------------------------------------------------------- baseline selection


def validate_baseline_selection(
    lesions: Sequence[Lesion], baseline_mm: Mapping[str, float | None]
) -> list[SelectionIssue]:
    """Check the baseline choice of target and non-target lesions against RECIST 1.1 section 3."""
    issues: list[SelectionIssue] = []
    targets = [les for les in lesions if les.role == TARGET]
    if not lesions:
        issues.append(SelectionIssue((), "no_disease", "no baseline lesions: nothing to assess"))
    if len(targets) > MAX_TARGETS:
        ids = tuple(les.id for les in targets)
        issues.append(
            SelectionIssue(
                ids[MAX_TARGETS:],
                "max_5_targets",
                f"{len(targets)} target lesions selected ({', '.join(ids)}); RECIST 1.1 allows at most "
                f"{MAX_TARGETS}: record {', '.join(ids[MAX_TARGETS:])} as non-target",
            )
        )
    per_organ = Counter(les.organ for les in targets)
    for organ, count in per_organ.items():
        if count > MAX_TARGETS_PER_ORGAN:
            ids = tuple(les.id for les in targets if les.organ == organ)
            issues.append(
                SelectionIssue(
                    ids[MAX_TARGETS_PER_ORGAN:],
                    "max_2_per_organ",
                    f"organ '{organ}' has {count} target lesions ({', '.join(ids)}); RECIST 1.1 allows "
                    f"at most {MAX_TARGETS_PER_ORGAN} per organ",
                )
            )
    for les in lesions:
        issue = _lesion_size_issue(les, baseline_mm.get(les.id))
        if issue is not None:
            issues.append(issue)
    return issues


def _lesion_size_issue(les: Lesion, mm: float | None) -> SelectionIssue | None:
    """One lesion's size against the measurability rules (targets must be measured)."""
    if mm is None:
        if les.role == TARGET:
            return SelectionIssue(
                (les.id,), "target_unmeasured", f"target {les.id} has no baseline measurement"
            )
        return None
    if les.nodal and mm < NODE_NORMAL_MM:
        return SelectionIssue(
            (les.id,),
            "node_normal",
            f"lymph node {les.id} short axis {_fmt(mm)} mm is < {_fmt(NODE_NORMAL_MM)} mm: a normal node, "
            "not a lesion",
        )
    if les.role != TARGET:
        return None
    if les.nodal and mm < NODE_MEASURABLE_MM:
        return SelectionIssue(
            (les.id,),
            "node_non_target_only",
            f"lymph node {les.id} short axis {_fmt(mm)} mm is pathological but not measurable "
            f"(target nodes need >= {_fmt(NODE_MEASURABLE_MM)} mm): record it as non-target",
        )
    if not les.nodal and mm < MEASURABLE_MM:
        return SelectionIssue(
            (les.id,),
            "not_measurable",
            f"target {les.id} longest diameter {_fmt(mm)} mm is not measurable "
            f"(>= {_fmt(MEASURABLE_MM)} mm needed): record it as non-target",
        )
    return None


def is_measurable(nodal: bool, mm: float | None) -> bool:
    """Measurable per RECIST 1.1: LD >= 10 mm, or node short axis >= 15 mm."""
    if mm is None:
        return False
    return mm >= (NODE_MEASURABLE_MM if nodal else MEASURABLE_MM)


# ---------------------------------------------------------------- time-point rules


def meets_pd(total: float, nadir: float) -> bool:
    """Sum >= 120 % of the nadir and at least 5 mm above it."""
    return total >= PD_FRACTION * nadir - EPS and total - nadir >= PD_ABSOLUTE_MM - EPS


def target_response(
    targets: Sequence[Lesion], mm: Mapping[str, float | None], baseline_sum: float, nadir: float
) -> TargetResult:
    """Target-lesion response in the order NE (unless PD), PD, CR, PR, SD."""
    if not targets:
        return TargetResult(None, None, 0.0, Reason("no_targets", "no target lesions at baseline"))
    assessed = {les.id: mm[les.id] for les in targets if mm.get(les.id) is not None}
    # Rounded to 1e-6 mm so float noise (79.80000000000001) never shows or tips a threshold.
    part = round(float(sum(assessed.values())), 6)  # type: ignore[arg-type]
    missing = [les.id for les in targets if les.id not in assessed]
    change = f"sum {_fmt(round(part, 2))} mm vs nadir {_fmt(round(nadir, 2))} mm"
    if missing:
        if meets_pd(part, nadir):
            text = f"{', '.join(missing)} not assessed but assessed {change} already meets PD"
            return TargetResult(PD, None, part, Reason("target_pd_partial", text))
        return TargetResult(NE, None, part, Reason("target_ne", f"target {', '.join(missing)} not assessed"))
    if meets_pd(part, nadir):
        text = f"{change}: +{_fmt(round(part - nadir, 2))} mm (>= 20 % and >= 5 mm)"
        return TargetResult(PD, part, part, Reason("target_pd", text))
    if all((assessed[les.id] < NODE_NORMAL_MM) if les.nodal else assessed[les.id] == 0 for les in targets):
        text = "all non-nodal targets gone and every target node < 10 mm short axis"
        return TargetResult(CR, part, part, Reason("target_cr", text))
    if part <= PR_FRACTION * baseline_sum + EPS:
        pct = 100.0 * (part - baseline_sum) / baseline_sum
        text = f"sum {_fmt(round(part, 2))} mm is {pct:.1f} % vs baseline {_fmt(baseline_sum)} mm (<= -30 %)"
        return TargetResult(PR, part, part, Reason("target_pr", text))
    text = f"neither PR vs baseline {_fmt(baseline_sum)} mm nor PD: {change}"
    return TargetResult(SD, part, part, Reason("target_sd", text))


def non_target_response(
    non_targets: Sequence[Lesion], status: Mapping[str, str]
) -> tuple[str | None, Reason]:
    """Non-target response: PD, NE, CR or NON_CR_NON_PD (None without non-target lesions)."""
    if not non_targets:
        return None, Reason("no_non_targets", "no non-target lesions at baseline")
    by = {s: [les.id for les in non_targets if status.get(les.id) == s] for s in NT_STATUSES}
    if by[UNEQUIVOCAL]:
        return PD, Reason("non_target_pd", f"unequivocal progression of {', '.join(by[UNEQUIVOCAL])}")
    if by[NOT_ASSESSED]:
        return NE, Reason("non_target_ne", f"non-target {', '.join(by[NOT_ASSESSED])} not assessed")
    if len(by[ABSENT]) == len(non_targets):
        return CR, Reason("non_target_cr", "all non-target lesions gone (nodes normal)")
    return NON_CR_NON_PD, Reason("non_target_non_cr_non_pd", f"{', '.join(by[PRESENT])} persisting")


def overall_response(target: str | None, non_target: str | None, new_lesion: bool) -> tuple[str, Reason]:
    """Overall time-point response: Eisenhauer 2009 Table 4 (targets) and Table 5 (non-target only)."""
    if target is None:
        return _table5(non_target, new_lesion)
    if target == PD:
        return PD, Reason("t4_target_pd", "Table 4: target PD -> PD")
    if non_target == PD:
        return PD, Reason("t4_non_target_pd", "Table 4: unequivocal non-target progression -> PD")
    if new_lesion:
        return PD, Reason("t4_new_lesion", "Table 4: new lesion -> PD")
    if target == NE:
        return NE, Reason("t4_target_ne", "Table 4: targets not all evaluated, no PD -> NE")
    if target == CR and non_target in (CR, None):
        return CR, Reason("t4_cr_cr", "Table 4: target CR, non-target CR (or none), no new -> CR")
    if target == CR:
        why = "not evaluated" if non_target == NE else "non-CR/non-PD"
        return PR, Reason("t4_cr_non_cr", f"Table 4: target CR, non-target {why}, no new -> PR")
    if target == PR:
        return PR, Reason("t4_pr", "Table 4: target PR, non-target non-PD or not all evaluated -> PR")
    return SD, Reason("t4_sd", "Table 4: target SD, non-target non-PD or not all evaluated -> SD")


def _table5(non_target: str | None, new_lesion: bool) -> tuple[str, Reason]:
    if non_target == PD:
        return PD, Reason("t5_non_target_pd", "Table 5: unequivocal non-target progression -> PD")
    if new_lesion:
        return PD, Reason("t5_new_lesion", "Table 5: new lesion -> PD")
    if non_target == NE:
        return NE, Reason("t5_ne", "Table 5: non-targets not all evaluated -> NE")
    if non_target == CR:
        return CR, Reason("t5_cr", "Table 5: all non-targets gone, no new -> CR")
    return NON_CR_NON_PD, Reason("t5_non_cr_non_pd", "Table 5: non-targets persisting -> NON_CR_NON_PD")


def present_new_lesions(assessment: Assessment) -> list[NewLesion]:
    """New lesions that count as disease: listed, not resolved (mm 0) and not a normal node."""
    out = []
    for nl in assessment.new_lesions:
        if nl.mm is not None and nl.mm == 0:
            continue
        if nl.nodal and nl.mm is not None and nl.mm < NODE_NORMAL_MM:
            continue
        out.append(nl)
    return out


# ---------------------------------------------------------------- best overall response


def confirmed(
    seq: Sequence[tuple[dt.date, str]], start: int, ok: set[str], skip: set[str], days: int
) -> bool:
    """True if seq[start] is confirmed by a later response in ``ok`` >= ``days`` later.

    Responses in between must be in ``ok`` or ``skip`` (not evaluable)."""
    first = seq[start][0]
    for day, resp in seq[start + 1 :]:
        if resp in ok and (day - first).days >= days:
            return True
        if resp not in ok and resp not in skip:
            return False
    return False


def best_response(
    seq: Sequence[tuple[dt.date, str]],
    baseline: dt.date,
    settings: Settings,
    labels: Mapping[str, str],
    non_target_only: bool = False,
) -> tuple[str, Reason]:
    """Best overall response with confirmation of CR/PR and the SD minimum duration.

    ``labels`` maps the generic names CR, PR, SD, NON, PD, NE (and UPD for iRECIST) to the
    values of one criterion; ``seq`` must already end at the first (confirmed) progression.
    Without target disease, stable disease is reported as the NON (non-CR/non-PD) value."""
    cr, pr, sd, non, ne = labels["CR"], labels["PR"], labels["SD"], labels["NON"], labels["NE"]
    days = settings.confirmation_days
    for i, (day, resp) in enumerate(seq):
        if resp == cr and confirmed(seq, i, {cr}, {ne}, days):
            return cr, Reason("bor_cr_confirmed", f"{cr} on {day} confirmed >= {days} days later")
    for i, (day, resp) in enumerate(seq):
        if resp in (cr, pr) and confirmed(seq, i, {cr, pr}, {ne}, days):
            return pr, Reason(
                "bor_pr_confirmed", f"{resp} on {day} confirmed by {cr}/{pr} >= {days} days later"
            )
    stable = [(d, r) for d, r in seq if r in (cr, pr, sd, non)]
    late = [(d, r) for d, r in stable if (d - baseline).days >= settings.sd_minimum_days]
    if late:
        day, resp = late[0]
        value = non if non_target_only else sd
        text = f"{resp} on {day}, {(day - baseline).days} days from baseline (>= {settings.sd_minimum_days})"
        return value, Reason("bor_sd_minimum_met", text)
    return _no_stable_response(seq, stable, settings, labels)


def _no_stable_response(
    seq: Sequence[tuple[dt.date, str]],
    stable: Sequence[tuple[dt.date, str]],
    settings: Settings,
    labels: Mapping[str, str],
) -> tuple[str, Reason]:
    """BOR when no response is confirmed and no stable disease lasted the minimum."""
    pd, ne = labels["PD"], labels["NE"]
    upd = labels.get("UPD")
    short = f" (earlier non-PD responses before day {settings.sd_minimum_days})" if stable else ""
    for day, resp in seq:
        if resp == pd:
            return pd, Reason("bor_pd", f"{pd} on {day}{short}")
    for day, resp in seq:
        if upd and resp == upd:
            return upd, Reason("bor_iupd_unconfirmed", f"{upd} on {day} never confirmed{short}")
    if stable:
        return ne, Reason("bor_sd_too_early", f"no confirmed response and SD not reached{short}")
    return ne, Reason("bor_ne", "no evaluable follow-up assessment")


RECIST_LABELS = {"CR": CR, "PR": PR, "SD": SD, "NON": NON_CR_NON_PD, "PD": PD, "NE": NE}


def best_overall(
    timepoints: Sequence[Timepoint], settings: Settings, attr: str, labels: Mapping[str, str]
) -> tuple[str, Reason]:
    """BOR of one criterion (``attr`` = recist | irecist) up to and including its first progression."""
    seq: list[tuple[dt.date, str]] = []
    for tp in timepoints[1:]:
        resp = getattr(tp, attr) or labels["NE"]
        seq.append((tp.date, resp))
        if resp == labels["PD"]:
            break
    no_targets = timepoints[0].sum_mm is None
    return best_response(seq, timepoints[0].date, settings, labels, no_targets)


def best_overall_recist(timepoints: Sequence[Timepoint], settings: Settings) -> tuple[str, Reason]:
    """RECIST 1.1 BOR: follow-up after the first PD does not count."""
    return best_overall(timepoints, settings, "recist", RECIST_LABELS)


# ---------------------------------------------------------------- engine


def recist_timepoints(
    lesions: Sequence[Lesion], assessments: Sequence[Assessment]
) -> list[tuple[Timepoint, TargetResult]]:
    """RECIST 1.1 responses per assessment, each with its target result (used by iRECIST)."""
    targets = [les for les in lesions if les.role == TARGET]
    non_targets = [les for les in lesions if les.role == NON_TARGET]
    base = assessments[0]
    baseline_sum = round(float(sum(base.target_mm[les.id] or 0.0 for les in targets)), 6)
    nadir = baseline_sum
    base_reason = Reason("baseline", f"baseline: reference sum {_fmt(round(baseline_sum, 2))} mm")
    out = [
        (
            Timepoint(
                base.date,
                baseline_sum if targets else None,
                None,
                None,
                False,
                None,
                None,
                {"recist": base_reason, "irecist": base_reason},
            ),
            TargetResult(None, baseline_sum, baseline_sum, base_reason),
        )
    ]
    for a in assessments[1:]:
        tr = target_response(targets, a.target_mm, baseline_sum, nadir)
        nt, nt_reason = non_target_response(non_targets, a.non_target)
        new = present_new_lesions(a)
        overall, why = overall_response(tr.response, nt, bool(new))
        reasons = {
            "target": tr.reason,
            "non_target": nt_reason,
            "new_lesions": _new_reason(new),
            "recist": why,
        }
        tp = Timepoint(a.date, tr.sum_mm, tr.response, nt, bool(new), overall, None, reasons)
        out.append((tp, tr))
        if tr.sum_mm is not None:
            nadir = min(nadir, tr.sum_mm)
    return out


def _new_reason(new: Sequence[NewLesion]) -> Reason:
    if not new:
        return Reason("no_new_lesions", "no new lesions")
    return Reason("new_lesions", f"new lesion(s) present: {', '.join(nl.id for nl in new)}")


def check_assessments(lesions: Sequence[Lesion], assessments: Sequence[Assessment]) -> None:
    """Raise RecistInputError on inconsistent lesions/assessments or an invalid baseline selection."""
    if not assessments:
        raise RecistInputError("no assessments: the first assessment is the baseline")
    ids = [les.id for les in lesions]
    dup = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dup:
        raise RecistInputError(f"duplicate lesion id(s): {', '.join(dup)}")
    for les in lesions:
        if les.role not in ROLES:
            raise RecistInputError(
                f"lesion {les.id}: role must be one of {', '.join(ROLES)}, got {les.role!r}"
            )
    for prev, cur in zip(assessments, assessments[1:]):
        if cur.date <= prev.date:
            raise RecistInputError(f"assessment dates must increase: {cur.date} after {prev.date}")
    seen: dict[str, NewLesion] = {}
    for a in assessments:
        _check_one(lesions, a, seen)
    _check_baseline(lesions, assessments[0])


def _check_one(lesions: Sequence[Lesion], a: Assessment, seen: dict[str, NewLesion]) -> None:
    where = f"assessment {a.date}"
    targets = {les.id for les in lesions if les.role == TARGET}
    non_targets = {les.id for les in lesions if les.role == NON_TARGET}
    _same_keys(where, "target_mm", set(a.target_mm), targets)
    _same_keys(where, "non_target", set(a.non_target), non_targets)
    for lid, mm in a.target_mm.items():
        if mm is not None and mm < 0:
            raise RecistInputError(f"{where}: target {lid} has a negative measurement {_fmt(mm)} mm")
    for lid, status in a.non_target.items():
        if status not in NT_STATUSES:
            raise RecistInputError(
                f"{where}: non-target {lid} status {status!r} is not one of {', '.join(NT_STATUSES)}"
            )
    here: set[str] = set()
    for nl in a.new_lesions:
        _check_new(where, nl, targets | non_targets, here, seen)


def _same_keys(where: str, name: str, given: set[str], expected: set[str]) -> None:
    unknown = sorted(given - expected)
    if unknown:
        raise RecistInputError(f"{where}: {name} has unknown lesion id(s) {', '.join(unknown)}")
    missing = sorted(expected - given)
    if missing:
        raise RecistInputError(
            f"{where}: {name} is missing {', '.join(missing)} (use null for not assessed)"
            if name == "target_mm"
            else f"{where}: {name} is missing {', '.join(missing)}"
        )


def _check_new(
    where: str, nl: NewLesion, baseline_ids: set[str], here: set[str], seen: dict[str, NewLesion]
) -> None:
    if nl.id in baseline_ids:
        raise RecistInputError(f"{where}: new lesion id {nl.id} is already a baseline lesion")
    if nl.id in here:
        raise RecistInputError(f"{where}: new lesion {nl.id} listed twice")
    if nl.mm is not None and nl.mm < 0:
        raise RecistInputError(f"{where}: new lesion {nl.id} has a negative measurement {_fmt(nl.mm)} mm")
    first = seen.setdefault(nl.id, nl)
    if (first.organ, first.nodal) != (nl.organ, nl.nodal):
        raise RecistInputError(f"{where}: new lesion {nl.id} changed organ or nodal flag since first seen")
    here.add(nl.id)


def _check_baseline(lesions: Sequence[Lesion], base: Assessment) -> None:
    where = f"baseline {base.date}"
    if base.new_lesions:
        raise RecistInputError(f"{where}: new lesions cannot be recorded at baseline")
    for lid, status in base.non_target.items():
        if status != PRESENT:
            raise RecistInputError(f"{where}: non-target {lid} must be 'present' at baseline, got {status!r}")
    issues = validate_baseline_selection(lesions, base.target_mm)
    if issues:
        raise RecistInputError(f"{where}: " + "; ".join(i.message for i in issues))
