"""iRECIST time-point and best overall responses (Seymour et al., Lancet Oncol 2017;18:e143, Table 2).

Plain module, no Django; driven by ``quant.response.recist.evaluate``. Rules as implemented:

- iUPD the first time RECIST 1.1 PD criteria are met (target PD against the nadir, unequivocal
  non-target progression, or a new lesion not seen before).
- While an iUPD is pending, the next assessments confirm it (iCPD) on any of: target sum >= 5 mm
  above the sum at the iUPD (cumulative), target PD against the nadir when targets were not the iUPD
  category, a non-target lesion recorded as ``unequivocal_progression`` (read against the previous
  assessment: a further increase, which need not be unequivocal again, or progression in a category
  not yet iUPD), another new lesion, new-lesion-target sum >= 5 mm above its value at the iUPD, or a
  measured new-lesion-non-target that grew.
- Otherwise iUPD remains while a category still shows progression (targets still PD against the nadir,
  non-targets that were iUPD and are not gone, or the new lesions with no further target shrinkage:
  Table 2 rows 5-10 and the EORTC scenario F). Further target shrinkage after a new lesion allows
  iSD/iPR (EORTC scenario B). An assessment with no remaining progression resets the bar: the response
  is iCR/iPR/iSD and a later PD is a new iUPD. A pending iUPD with unassessed targets gives iNE.
- New lesions: up to 5 measurable new lesions (2 per organ) in order of appearance are new-lesion
  targets (NLT, summed apart from the baseline sum); the others are new-lesion non-targets (NLNT).
  After a reset, the known new lesions trigger a new iUPD when the NLT sum meets PD against its nadir.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from quant.response.recist import (
    CR,
    EPS,
    NE,
    NON_CR_NON_PD,
    PD,
    PD_ABSOLUTE_MM,
    PR,
    SD,
    Assessment,
    NewLesion,
    Reason,
    Settings,
    TargetResult,
    Timepoint,
    best_overall,
    is_measurable,
    meets_pd,
    overall_response,
    present_new_lesions,
)

ICR, IPR, ISD, IUPD, ICPD, INE = "iCR", "iPR", "iSD", "iUPD", "iCPD", "iNE"
NON_ICR_NON_IUPD = "NON_iCR_NON_iUPD"
TO_I = {CR: ICR, PR: IPR, SD: ISD, NE: INE, NON_CR_NON_PD: NON_ICR_NON_IUPD}
MAX_NLT = 5
MAX_NLT_PER_ORGAN = 2
IRECIST_LABELS = {
    "CR": ICR,
    "PR": IPR,
    "SD": ISD,
    "NON": NON_ICR_NON_IUPD,
    "PD": ICPD,
    "NE": INE,
    "UPD": IUPD,
}


@dataclass
class NewLesionBook:
    """Classifies each new lesion once, at first appearance, as NLT or NLNT."""

    kind: dict[str, str] = field(default_factory=dict)
    organ: dict[str, str] = field(default_factory=dict)

    def classify(self, present: Sequence[NewLesion]) -> None:
        nlt = [i for i, k in self.kind.items() if k == "NLT"]
        organs = Counter(self.organ[i] for i in nlt)
        for nl in present:
            if nl.id in self.kind:
                continue
            self.organ[nl.id] = nl.organ
            fits = len(nlt) < MAX_NLT and organs[nl.organ] < MAX_NLT_PER_ORGAN
            if fits and is_measurable(nl.nodal, nl.mm):
                self.kind[nl.id] = "NLT"
                nlt.append(nl.id)
                organs[nl.organ] += 1
            else:
                self.kind[nl.id] = "NLNT"

    def nlt_sum(self, a: Assessment) -> float | None:
        """Sum of NLT measurements (resolved = 0); None if an NLT is listed without a size."""
        listed = {nl.id: nl.mm for nl in a.new_lesions}
        total = 0.0
        for lid, k in self.kind.items():
            if k != "NLT" or lid not in listed:
                continue
            mm = listed[lid]
            if mm is None:
                return None
            total += mm
        return round(total, 6)

    def nlnt_mm(self, a: Assessment) -> dict[str, float]:
        return {nl.id: nl.mm for nl in a.new_lesions if self.kind.get(nl.id) == "NLNT" and nl.mm is not None}


@dataclass
class PendingUpd:
    """An iUPD awaiting confirmation, with the reference state of each category at the iUPD."""

    date: dt.date
    target_iupd: bool
    ref_sum: float | None
    nt_iupd: bool
    new_ids: set[str]
    nlt_ref: float | None
    nlnt_ref: dict[str, float]
    last_sum: float | None


@dataclass
class IrecistState:
    book: NewLesionBook = field(default_factory=NewLesionBook)
    pending: PendingUpd | None = None
    confirmed: bool = False
    known_new: set[str] = field(default_factory=set)
    nlt_nadir: float | None = None


@dataclass(frozen=True)
class Inputs:
    """What one assessment contributes to iRECIST."""

    assessment: Assessment
    target: TargetResult
    non_target: str | None
    new_ids: set[str]
    nlt_sum: float | None
    nlnt_mm: dict[str, float]


def add_irecist(
    assessments: Sequence[Assessment], rows: Sequence[tuple[Timepoint, TargetResult]]
) -> list[Timepoint]:
    """Attach the iRECIST response (and its reason) to each RECIST time point."""
    state = IrecistState()
    out = [rows[0][0]]
    for a, (tp, tr) in zip(assessments[1:], rows[1:]):
        present = present_new_lesions(a)
        state.book.classify(present)
        inp = Inputs(
            a,
            tr,
            tp.non_target_response,
            {nl.id for nl in present},
            state.book.nlt_sum(a),
            state.book.nlnt_mm(a),
        )
        response, reason = step(state, inp)
        reasons = dict(tp.reasons, irecist=reason)
        out.append(replace(tp, irecist=response, reasons=reasons, new_lesion_target_sum_mm=inp.nlt_sum))
    return out


def step(state: IrecistState, inp: Inputs) -> tuple[str, Reason]:
    """Advance the iRECIST state by one assessment and return its time-point response."""
    if state.confirmed:
        return ICPD, Reason("icpd_already", "progression already confirmed (iCPD)")
    if state.pending is None:
        return _unpending(state, inp)
    return _pending(state, inp)


def _unpending(state: IrecistState, inp: Inputs) -> tuple[str, Reason]:
    """No iUPD pending: iUPD on RECIST 1.1 PD criteria, else the RECIST-like response."""
    tr = inp.target
    triggers = []
    if tr.response == PD:
        triggers.append(f"targets meet PD ({tr.reason.text})")
    if inp.non_target == PD:
        triggers.append("unequivocal non-target progression")
    unseen = sorted(inp.new_ids - state.known_new)
    if unseen:
        triggers.append(f"new lesion(s) {', '.join(unseen)}")
    nlt_nadir, nlt = state.nlt_nadir, inp.nlt_sum
    if not unseen and nlt_nadir is not None and nlt is not None and meets_pd(nlt, nlt_nadir):
        triggers.append(
            f"new-lesion target sum {inp.nlt_sum:g} mm meets PD vs its nadir {state.nlt_nadir:g} mm"
        )
    if triggers:
        state.pending = PendingUpd(
            date=inp.assessment.date,
            target_iupd=tr.response == PD,
            ref_sum=tr.assessed_sum_mm,
            nt_iupd=inp.non_target == PD,
            new_ids=set(inp.new_ids) | state.known_new,
            nlt_ref=inp.nlt_sum,
            nlnt_ref=dict(inp.nlnt_mm),
            last_sum=tr.sum_mm,
        )
        return IUPD, Reason(
            "iupd", "iUPD (RECIST 1.1 PD criteria met, to be confirmed): " + "; ".join(triggers)
        )
    if nlt_nadir is not None and nlt is not None:
        state.nlt_nadir = min(nlt_nadir, nlt)
    return _category_response(inp, "")


def _category_response(inp: Inputs, prefix: str) -> tuple[str, Reason]:
    """iCR/iPR/iSD/iNE/NON_iCR_NON_iUPD from the categories (Table 2 rows 1-4)."""
    resp, why = overall_response(inp.target.response, inp.non_target, False)
    value = TO_I[resp]
    text = prefix + why.text.replace("Table 4", "Table 2 (as Table 4)").replace(
        "Table 5", "Table 2 (as Table 5)"
    )
    if value == ICR and inp.new_ids:
        value = IPR if inp.target.response is not None else NON_ICR_NON_IUPD
        text += f"; earlier new lesion(s) {', '.join(sorted(inp.new_ids))} still present, so not {ICR}"
    return value, Reason(f"irecist_{value}", text)


def _confirmations(p: PendingUpd, inp: Inputs) -> list[tuple[str, str]]:
    """Each iCPD criterion met at this assessment as (rule code, text)."""
    tr = inp.target
    hits = []
    if p.target_iupd and p.ref_sum is not None and tr.assessed_sum_mm - p.ref_sum >= PD_ABSOLUTE_MM - EPS:
        hits.append(
            (
                "icpd_target_plus_5mm",
                f"target sum {tr.assessed_sum_mm:g} mm is >= 5 mm above {p.ref_sum:g} mm at the iUPD",
            )
        )
    if not p.target_iupd and tr.response == PD:
        hits.append(("icpd_target_new_category", f"targets now meet PD ({tr.reason.text})"))
    if inp.non_target == PD:
        what = "further non-target increase" if p.nt_iupd else "non-target progression (new category)"
        hits.append(("icpd_non_target", what))
    extra = sorted(inp.new_ids - p.new_ids)
    if extra:
        hits.append(("icpd_additional_new_lesion", f"additional new lesion(s) {', '.join(extra)}"))
    if p.nlt_ref is not None and inp.nlt_sum is not None and inp.nlt_sum - p.nlt_ref >= PD_ABSOLUTE_MM - EPS:
        hits.append(
            (
                "icpd_nlt_plus_5mm",
                f"new-lesion target sum {inp.nlt_sum:g} mm is >= 5 mm above {p.nlt_ref:g} mm at the iUPD",
            )
        )
    grown = sorted(i for i, mm in inp.nlnt_mm.items() if i in p.nlnt_ref and mm > p.nlnt_ref[i] + EPS)
    if grown:
        hits.append(("icpd_nlnt_increase", f"new-lesion non-target(s) {', '.join(grown)} increased"))
    return hits


def _pending(state: IrecistState, inp: Inputs) -> tuple[str, Reason]:
    """An iUPD is pending: confirm (iCPD), keep (iUPD), not evaluable (iNE) or reset."""
    p = state.pending
    assert p is not None
    tr = inp.target
    hits = _confirmations(p, inp)
    if hits:
        state.confirmed = True
        state.pending = None
        text = f"iCPD confirming the iUPD of {p.date}: " + "; ".join(t for _, t in hits)
        return ICPD, Reason(hits[0][0], text)
    still = []
    if tr.response == PD:
        still.append("target sum still meets PD vs the nadir without a further 5 mm")
    if p.nt_iupd and inp.non_target not in (CR, None):
        still.append("non-target progression unchanged")
    if still:
        p.last_sum = tr.sum_mm if tr.sum_mm is not None else p.last_sum
        return IUPD, Reason("iupd_remains", f"iUPD of {p.date} remains: " + "; ".join(still))
    if inp.new_ids:
        shrank = (
            tr.response in (CR, PR, SD)
            and tr.sum_mm is not None
            and p.last_sum is not None
            and tr.sum_mm < p.last_sum - EPS
        )
        if not shrank:
            p.last_sum = tr.sum_mm if tr.sum_mm is not None else p.last_sum
            text = f"iUPD of {p.date} remains: new lesion(s) unchanged and no further target shrinkage"
            return IUPD, Reason("iupd_remains_new_lesions", text)
        return _reset(state, inp, f"targets shrank to {tr.sum_mm:g} mm after the new lesion(s): ")
    if tr.response == NE or (tr.response is None and inp.non_target == NE):
        return INE, Reason("ine_pending_iupd", f"not evaluable; the iUPD of {p.date} stays unconfirmed")
    return _reset(state, inp, "no progression left: bar reset; ")


def _reset(state: IrecistState, inp: Inputs, prefix: str) -> tuple[str, Reason]:
    """Leave the pending iUPD: later PD against the nadir is a new iUPD."""
    p = state.pending
    assert p is not None
    state.known_new |= p.new_ids | inp.new_ids
    has_nlt = any(state.book.kind.get(i) == "NLT" for i in state.known_new)
    state.nlt_nadir = inp.nlt_sum if has_nlt else None
    state.pending = None
    value, reason = _category_response(inp, prefix + f"(iUPD of {p.date} not confirmed) ")
    return value, Reason("reset_" + reason.code, reason.text)


def best_overall_irecist(timepoints: Sequence[Timepoint], settings: Settings) -> tuple[str, Reason]:
    """iRECIST BOR over follow-up up to and including the first iCPD (responses after iUPD count)."""
    return best_overall(timepoints, settings, "irecist", IRECIST_LABELS)


def progression_date(timepoints: Sequence[Timepoint]) -> dt.date | None:
    """Date of progression: the first iUPD of the run that ends in iCPD."""
    responses = [tp.irecist for tp in timepoints]
    if ICPD not in responses:
        return None
    end = responses.index(ICPD)
    start = end
    while start - 1 >= 1 and responses[start - 1] in (IUPD, INE):
        start -= 1
    while start < end and responses[start] != IUPD:
        start += 1
    return timepoints[start].date
