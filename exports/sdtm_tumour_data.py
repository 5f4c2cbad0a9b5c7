"""TU, TR, RS and MI rows, streamed with stable --SEQ and --SPID (exports.sdtm_clinical_data._stream).

TR holds per lesion and assessment the diameter (LDIAM, or LPERP for a node) or, for a non-target lesion, its state
(TUMSTATE); per assessment the sum of target diameters (SUMDIAM, TRGRPID TARGET); per lesion VOI of a PET scan its
SUVmax/mean/peak. RS holds the visit responses and each participant's best overall response (BESTRESP). MI holds
one row per IHC metric per scorer: MIEVAL PATHOLOGIST and MIEVALID PATHOLOGIST 1/2 tell the two scorers apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from exports import sdtm_clinical_data
from exports.sdtm_clinical_data import Context, Subject, _stream
from exports.sdtm_core import RS_TESTS, TR_TESTS
from exports.sdtm_vars import STUDYID
from imaging.models import Voi
from lesions.models import Assessment, Lesion, Measurement, ParticipantResponse
from pathology.models import IhcScore
from trial import access

ROLE = {"target": "TARGET", "non_target": "NON-TARGET", "new": "NEW"}
METHOD = {"ct": "CT SCAN", "mri": "MRI", "pet_ct": "PET/CT SCAN"}
TUMSTATE = {"present": "PRESENT", "absent": "ABSENT", "unequivocal_progression": "UNEQUIVOCAL PROGRESSION"}
Row = dict[str, Any]
Seq = Callable[[int], int]


def _head(domain: str, s: Subject, seq: int, spid: str) -> Row:
    return {
        "STUDYID": STUDYID,
        "DOMAIN": domain,
        "USUBJID": s.usubjid,
        f"{domain}SEQ": seq,
        f"{domain}SPID": spid,
    }


def iter_tu(user: Any) -> Iterator[Row]:
    first_seen: dict[
        int, tuple[str, Any, Any]
    ] = {}  # lesion id -> (modality, date, visit) of its first assessment
    for lesion_id, modality, date, visit_id in (
        access.scope_to_user(Measurement.objects.filter(voided=False, assessment__voided=False), user)
        .order_by("assessment__date", "id")
        .values_list("lesion_id", "assessment__modality", "assessment__date", "assessment__visit_id")
        .iterator(chunk_size=sdtm_clinical_data.CHUNK)
    ):
        first_seen.setdefault(lesion_id, (modality, date, visit_id))

    def lesion(les: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        modality, date, visit_id = first_seen.get(les.pk, ("", None, None))
        yield _head("TU", s, seq(0), f"LESION-{les.pk}") | {
            "TULNKID": les.label,
            "TUTESTCD": "TUMIDENT",
            "TUTEST": "Tumor Identification",
            "TUORRES": ROLE[les.role],
            "TUSTRESC": ROLE[les.role],
            "TULOC": (les.organ.upper() + (f", {les.location}" if les.location else ""))[:60],
            "TUMETHOD": METHOD.get(modality, ""),
            **ctx.visit(visit_id, s, date),
            "TUDTC": date.isoformat() if date else "",
            "TUDY": s.day(date),
        }

    yield from _stream(user, [(Lesion, ("participant",), lesion)], 1)


def _tr(s: Subject, seq: int, spid: str, link: str, test: str, value: Any, unit: str, state: str = "") -> Row:
    number = value if isinstance(value, float) else None
    text = state or ("" if number is None else f"{number:g}")
    return _head("TR", s, seq, spid) | {
        "TRGRPID": "TARGET" if test == "SUMDIAM" else "",
        "TRLNKID": link,
        "TRTESTCD": test,
        "TRTEST": TR_TESTS[test],
        "TRORRES": text,
        "TRORRESU": unit if number is not None else "",
        "TRSTRESC": text,
        "TRSTRESN": number,
        "TRSTRESU": unit if number is not None else "",
        "TRSTAT": "" if text else "NOT DONE",
    }


def iter_tr(user: Any) -> Iterator[Row]:
    """Lesion measurements and states, sums of diameters, and the SUV results of lesion VOIs."""

    def measurement(m: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        a = m.assessment
        if a.voided or m.lesion.voided:
            return
        timing = ctx.visit(a.visit_id, s, a.date) | {"TRDTC": a.date.isoformat(), "TRDY": s.day(a.date)}
        method = {"TRMETHOD": METHOD.get(a.modality, "")}
        if m.non_target_state:
            state = TUMSTATE.get(m.non_target_state, "")
            yield (
                _tr(s, seq(0), f"MEAS-{m.pk}", m.lesion.label, "TUMSTATE", None, "", state) | method | timing
            )
            return
        if m.value_mm is None and m.state == "measured":
            return
        test = "LPERP" if m.lesion.nodal else "LDIAM"
        yield _tr(s, seq(0), f"MEAS-{m.pk}", m.lesion.label, test, m.effective_mm, "mm") | method | timing

    def assessment(a: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        if a.sum_mm is None:
            return
        yield (
            _tr(s, seq(0), f"ASSESS-{a.pk}", "", "SUMDIAM", float(a.sum_mm), "mm")
            | {"TRMETHOD": METHOD.get(a.modality, "")}
            | ctx.visit(a.visit_id, s, a.date)
            | {"TRDTC": a.date.isoformat(), "TRDY": s.day(a.date)}
        )

    def voi(v: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        if v.lesion_id is None or v.lesion.voided:
            return
        try:
            r = v.result
        except ObjectDoesNotExist:
            return
        when = v.scan.acquired_at
        timing = ctx.visit(v.scan.visit_id, s, when) | {"TRDTC": s.local(when), "TRDY": s.day(when)}
        for slot, (test, value) in enumerate(
            (("SUVMAX", r.suv_max), ("SUVMEAN", r.suv_mean), ("SUVPEAK", r.suv_peak))
        ):
            row = _tr(s, seq(slot), f"VOI-{v.pk}", v.lesion.label, test, round(float(value), 4), "g/mL")
            yield row | {"TRMETHOD": "PET/CT SCAN"} | timing

    yield from _stream(
        user,
        [
            (Measurement, ("participant", "lesion", "assessment"), measurement),
            (Assessment, ("participant",), assessment),
            (Voi, ("participant", "lesion", "scan", "result"), voi),
        ],
        3,
    )


def _term(value: str) -> str:
    return value.replace("NON_CR_NON_PD", "NON-CR/NON-PD")


def iter_rs(user: Any) -> Iterator[Row]:
    def rs(s: Subject, seq: int, spid: str, cat: str, test: str, value: str) -> Row:
        return _head("RS", s, seq, spid) | {
            "RSTESTCD": test,
            "RSTEST": RS_TESTS[test],
            "RSCAT": cat,
            "RSORRES": _term(value),
            "RSSTRESC": _term(value),
            "RSEVAL": "INVESTIGATOR",
        }

    def assessment(a: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        timing = ctx.visit(a.visit_id, s, a.date) | {"RSDTC": a.date.isoformat(), "RSDY": s.day(a.date)}
        for slot, (cat, test, value) in enumerate(
            (
                ("RECIST 1.1", "OVRLRESP", a.recist_response),
                ("RECIST 1.1", "TRGRESP", a.target_response),
                ("RECIST 1.1", "NTRGRESP", a.non_target_response),
                ("iRECIST", "OVRLRESP", a.irecist_response),
            )
        ):
            if value:
                yield rs(s, seq(slot), f"ASSESS-{a.pk}", cat, test, value) | timing

    def best(b: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        blank = {"VISITNUM": None, "VISIT": "", "EPOCH": "", "RSDTC": "", "RSDY": None}
        for slot, (cat, value) in enumerate((("RECIST 1.1", b.best_recist), ("iRECIST", b.best_irecist))):
            if value:
                yield rs(s, seq(slot), f"BEST-{b.pk}", cat, "BESTRESP", value) | blank

    yield from _stream(
        user,
        [(Assessment, ("participant",), assessment), (ParticipantResponse, ("participant",), best)],
        4,
    )


MI_METRICS = (
    ("density_intratumoural", "Intratumoural density", "/mm2"),
    ("density_stromal", "Stromal density", "/mm2"),
    ("percent_positive", "Positive cells", "%"),
    ("tps", "Tumour proportion score", "%"),
    ("cps", "Combined positive score", ""),
    ("h_score", "H-score", ""),
    ("semi_quant", "Semi-quantitative intensity", ""),
    ("value", "Value", ""),
)


def iter_mi(user: Any) -> Iterator[Row]:
    def score(sc: Any, s: Subject, ctx: Context, seq: Seq) -> Iterator[Row]:
        b = sc.biopsy
        timing = ctx.visit(b.visit_id, s, b.biopsy_date) | {
            "MIDTC": b.biopsy_date.isoformat(),
            "MIDY": s.day(b.biopsy_date),
        }
        for slot, (attr, label, unit) in enumerate(MI_METRICS):
            value = getattr(sc, attr)
            if value is None:
                continue
            yield (
                _head("MI", s, seq(slot), f"IHC-{sc.pk}")
                | {
                    "MIREFID": b.sample_id,
                    "MITESTCD": sc.marker.code.upper().replace("-", "")[:8],
                    "MITEST": sc.marker.name[:40],
                    "MITSTDTL": label,
                    "MIORRES": str(value),
                    "MIORRESU": unit,
                    "MISTRESC": str(value),
                    "MISTRESN": float(value),
                    "MISTRESU": unit,
                    "MISPEC": "TISSUE",
                    "MILOC": b.organ.upper()[:60],
                    "MIMETHOD": "IHC",
                    "MIEVAL": "PATHOLOGIST",
                    "MIEVALID": f"PATHOLOGIST {sc.scorer_number}",
                }
                | timing
            )

    yield from _stream(user, [(IhcScore, ("participant", "biopsy", "marker"), score)], len(MI_METRICS))
