"""AE (+ SUPPAE) and EX (+ SUPPEX) rows, streamed with stable --SEQ (exports.sdtm_clinical_data._stream: a slot per
source record in creation order, voided ones keeping theirs) and --SPID naming the record.

AE coding: the CTCAE v5.0 term is a MedDRA lowest level term (its code is in the CTCAE file). With a MedDRA release
loaded (`manage.py load_meddra`), AELLT..AESOCCD follow that LLT's primary hierarchy; without one (or when the LLT
is not in it) AELLT/AELLTCD are the CTCAE term and code, AEDECOD the CTCAE term, AEBODSYS/AESOC the CTCAE SOC, the
other codes empty, and SUPPAE.AECODNT says so. AEREL is the strongest relationship to a study treatment
(89Zr-Df-crefmirlimab or the anti-PD-1 antibody); each product's and each procedure's relationship is in SUPPAE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from exports import meddra
from exports.sdtm_clinical_data import Context, Subject, _stream
from exports.sdtm_core import ENTPT, SUPPAE_QUALIFIERS, SUPPEX_QUALIFIERS
from exports.sdtm_vars import STUDYID
from safety.models import AdverseEvent
from trial import access
from trial.models import AntiPD1Dose, TracerDose

TRACER = "89Zr-Df-crefmirlimab"
REL = {
    "unrelated": "NOT RELATED",
    "unlikely": "UNLIKELY RELATED",
    "possible": "POSSIBLY RELATED",
    "probable": "PROBABLY RELATED",
    "definite": "RELATED",
}
REL_ORDER = list(REL)
ACN = {
    "dose_not_changed": "DOSE NOT CHANGED",
    "drug_interrupted": "DRUG INTERRUPTED",
    "drug_withdrawn": "DRUG WITHDRAWN",
    "not_applicable": "NOT APPLICABLE",
    "unknown": "UNKNOWN",
}
OUT = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}
Row = dict[str, Any]
Seq = Callable[[int], int]


def yn(value: bool) -> str:
    return "Y" if value else "N"


def full_date(text: str) -> dt.date | None:
    """The date of an ISO 8601 text when it is a complete date (partial dates have no study day)."""
    if not text or len(text) < 10:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def coding_of(term: Any, codings: dict[int, meddra.Coding], version: str) -> tuple[Row, str]:
    """AE dictionary variables of a CTCAE term, and the coding note ('' when MedDRA coded it); version: the
    current MedDRA release ('' when none is loaded)."""
    coding = codings.get(term.meddra_code)
    if coding is None:
        note = f"LLT {term.meddra_code} not in MedDRA {version}" if version else "No MedDRA release loaded"
        return {
            "AELLT": term.term,
            "AELLTCD": term.meddra_code,
            "AEDECOD": term.term,
            "AEPTCD": None,
            "AEHLT": "",
            "AEHLTCD": None,
            "AEHLGT": "",
            "AEHLGTCD": None,
            "AEBODSYS": term.soc,
            "AEBDSYCD": None,
            "AESOC": term.soc,
            "AESOCCD": None,
        }, f"{note}: AEDECOD is the CTCAE v5.0 term, AEBODSYS/AESOC its CTCAE SOC"
    return {
        "AELLT": coding.llt[1],
        "AELLTCD": coding.llt[0],
        "AEDECOD": coding.pt[1],
        "AEPTCD": coding.pt[0],
        "AEHLT": coding.hlt[1],
        "AEHLTCD": coding.hlt[0],
        "AEHLGT": coding.hlgt[1],
        "AEHLGTCD": coding.hlgt[0],
        "AEBODSYS": coding.soc[1],
        "AEBDSYCD": coding.soc[0],
        "AESOC": coding.soc[1],
        "AESOCCD": coding.soc[0],
    }, ""


def _codings(user: Any) -> dict[int, meddra.Coding]:
    used = access.scope_to_user(AdverseEvent.objects.all(), user).values("term__meddra_code")
    return meddra.codings(used)


def iter_ae(user: Any, *, supp: bool = False) -> Iterator[Row]:
    """AE rows (or, with supp, their SUPPAE qualifiers), a database chunk at a time."""
    codings, version = _codings(user), meddra.current_version()

    def event(ae: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        n = seq(0)
        dictionary, note = coding_of(ae.term, codings, version)
        if supp:
            yield from _suppae(ae, s.usubjid, n, note)
            return
        start = full_date(ae.onset_date)
        end = None if ae.ongoing else full_date(ae.end_date)
        overall = max((ae.rel_tracer, ae.rel_anti_pd1), key=REL_ORDER.index)
        yield {
            "STUDYID": STUDYID,
            "DOMAIN": "AE",
            "USUBJID": s.usubjid,
            "AESEQ": n,
            "AESPID": f"AE-{ae.pk}",
            "AETERM": ae.verbatim_term or ae.term.term,
            **dictionary,
            "AESER": yn(ae.serious),
            "AEACN": ACN[ae.action_anti_pd1],
            "AEREL": REL[overall],
            "AEOUT": OUT[ae.outcome],
            "AESCONG": yn(ae.sae_congenital_anomaly),
            "AESDISAB": yn(ae.sae_disability),
            "AESDTH": yn(ae.sae_death),
            "AESHOSP": yn(ae.sae_hospitalisation),
            "AESLIFE": yn(ae.sae_life_threatening),
            "AESMIE": yn(ae.sae_other_important),
            "AETOXGR": str(ae.grade),
            "EPOCH": s.epoch(start),
            "AESTDTC": ae.onset_date,
            "AEENDTC": "" if ae.ongoing else ae.end_date,
            "AESTDY": s.day(start),
            "AEENDY": s.day(end),
            "AEENRTPT": "ONGOING" if ae.ongoing else "",
            "AEENTPT": ENTPT if ae.ongoing else "",
        }

    yield from _stream(user, [(AdverseEvent, ("participant", "term"), event)], 1)


def _suppae(ae: Any, subject: str, seq: int, note: str) -> Iterator[Row]:
    qualifiers = {
        "AERELTRC": REL[ae.rel_tracer],
        "AERELPD1": REL[ae.rel_anti_pd1],
        "AERELPET": REL[ae.rel_pet],
        "AERELBX": REL[ae.rel_biopsy],
        "AECTCV": ae.ctcae_version,
        "AEIMMUN": yn(ae.immune_related),
        "AECODNT": note,
    }
    for qnam, qval in qualifiers.items():
        if not qval:
            continue
        yield {
            "STUDYID": STUDYID,
            "RDOMAIN": "AE",
            "USUBJID": subject,
            "IDVAR": "AESEQ",
            "IDVARVAL": str(seq),
            "QNAM": qnam,
            "QLABEL": SUPPAE_QUALIFIERS[qnam],
            "QVAL": qval,
            "QORIG": "CRF" if qnam.startswith("AEREL") or qnam == "AEIMMUN" else "Assigned",
            "QEVAL": "INVESTIGATOR" if qnam.startswith("AEREL") else "",
        }


def iter_ex(user: Any, *, supp: bool = False) -> Iterator[Row]:
    """EX rows (or, with supp, the SUPPEX tracer mass doses): tracer injections and anti-PD-1 infusions."""

    def row(
        d: Any, s: Subject, ctx: Context, seq: Seq, spid: str, treatment: str, dose: float, unit: str
    ) -> Row:
        when = s.local(d.administered_at)
        return {
            "STUDYID": STUDYID,
            "DOMAIN": "EX",
            "USUBJID": s.usubjid,
            "EXSEQ": seq(0),
            "EXSPID": spid,
            "EXTRT": treatment,
            "EXDOSE": dose,
            "EXDOSU": unit,
            "EXDOSFRM": "SOLUTION",
            "EXROUTE": "INTRAVENOUS",
            **ctx.visit(d.visit_id, s, d.administered_at),
            "EXSTDTC": when,
            "EXENDTC": when,
            "EXSTDY": s.day(d.administered_at),
            "EXENDY": s.day(d.administered_at),
        }

    def tracer(d: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        if not supp:
            yield row(d, s, ctx, seq, f"TRACER-{d.pk}", TRACER, float(d.net_injected_mbq), "MBq")
            return
        yield {
            "STUDYID": STUDYID,
            "RDOMAIN": "EX",
            "USUBJID": s.usubjid,
            "IDVAR": "EXSEQ",
            "IDVARVAL": str(seq(0)),
            "QNAM": "EXMASSMG",
            "QLABEL": SUPPEX_QUALIFIERS["EXMASSMG"],
            "QVAL": str(d.mass_dose_mg),
            "QORIG": "CRF",
            "QEVAL": "",
        }

    def anti_pd1(d: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        if not supp:
            yield row(d, s, ctx, seq, f"PD1-{d.pk}", d.drug.upper(), float(d.dose_mg), "mg")

    yield from _stream(
        user, [(TracerDose, ("participant",), tracer), (AntiPD1Dose, ("participant",), anti_pd1)], 1
    )
