"""SDTM-style datasets from the database (scoped to the user's sites)."""

from __future__ import annotations

import datetime as dt
import heapq
import io
import json
import pickle
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from django.apps import apps
from django.db import connection
from django.db.models.functions import Collate

from exports import sdtm, sdtm_clinical_data
from trial import access
from trial.models import AntiPD1Dose, Consent, Participant, TracerDose

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
ROLE = {"target": "TARGET", "non_target": "NON-TARGET", "new": "NEW"}
METHOD = {"ct": "CT SCAN", "mri": "MRI", "pet_ct": "PET/CT"}
TRACER = "89Zr-Df-crefmirlimab"
ARM = ("CD8PET", "89Zr-Df-crefmirlimab PET with anti-PD-1")


def yn(value: bool) -> str:
    return "Y" if value else "N"


def usubjid(study_id: str) -> str:
    return f"{sdtm.STUDYID}-{study_id}"


def _model(label: str) -> Any:
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _scoped(model: Any, user: Any, site_field: str = "participant__site"):
    return access.scope_to_user(model.objects.filter(voided=False), user, site_field=site_field)


CHUNK = 2000  # rows fetched from the database at a time


def dm_rows(user: Any) -> list[dict]:
    return list(iter_dm(user))


def iter_dm(user: Any) -> Iterator[dict]:
    participants = _scoped(Participant, user, "site").select_related("site").order_by("study_id")
    first_dose: dict[int, Any] = {}
    for pid, when in (
        TracerDose.objects.filter(voided=False)
        .order_by("administered_at")
        .values_list("participant_id", "administered_at")
        .iterator(chunk_size=CHUNK)
    ):
        first_dose.setdefault(pid, when)
    consent: dict[int, Any] = {}
    for pid, when in (
        Consent.objects.filter(voided=False, participant__in=participants.values("pk"))
        .order_by("consent_date")
        .values_list("participant_id", "consent_date")
        .iterator(chunk_size=CHUNK)
    ):
        consent.setdefault(pid, when)
    for p in participants.iterator(chunk_size=CHUNK):
        yield {
            "STUDYID": sdtm.STUDYID,
            "DOMAIN": "DM",
            "USUBJID": usubjid(p.study_id),
            "SUBJID": p.study_id,
            "RFSTDTC": sdtm.dtc(first_dose.get(p.pk)),
            "RFICDTC": sdtm.dtc(consent.get(p.pk)),
            "SITEID": p.site.code,
            "BRTHDTC": str(p.year_of_birth),
            "SEX": p.sex,
            "ARMCD": ARM[0],
            "ARM": ARM[1],
            "ACTARMCD": ARM[0] if p.pk in first_dose else "NOTTRT",
            "ACTARM": ARM[1] if p.pk in first_dose else "Not Treated",
            "COUNTRY": COUNTRY3.get(p.site.country, p.site.country),
            "DMSTAT": p.status.upper(),
        }


def ae_rows(user: Any) -> tuple[list[dict], list[dict]]:
    return list(iter_ae(user)), list(iter_ae(user, supp=True))


def iter_ae(user: Any, *, supp: bool = False) -> Iterator[dict]:
    """AE rows (or, with supp, their SUPPAE qualifiers), in AESEQ order, a database chunk at a time."""
    model = _model("safety.AdverseEvent")
    if model is None:
        return
    seq: dict[str, int] = defaultdict(int)
    qs = (
        _scoped(model, user)
        .select_related("participant", "term")
        .order_by("participant__study_id", "onset_date", "id")
    )
    for ae in qs.iterator(chunk_size=CHUNK):
        subject = usubjid(ae.participant.study_id)
        seq[subject] += 1
        if supp:
            yield from _suppae(ae, subject, seq[subject])
            continue
        overall = max((ae.rel_tracer, ae.rel_pet, ae.rel_biopsy, ae.rel_anti_pd1), key=REL_ORDER.index)
        yield {
            "STUDYID": sdtm.STUDYID,
            "DOMAIN": "AE",
            "USUBJID": subject,
            "AESEQ": seq[subject],
            "AETERM": ae.verbatim_term or ae.term.term,
            "AEDECOD": ae.term.term,
            "AELLT": ae.term.term,
            "AELLTCD": ae.term.meddra_code,
            "AEBODSYS": ae.term.soc,
            "AETOXGR": str(ae.grade),
            "AESER": yn(ae.serious),
            "AEREL": REL[overall],
            "AEACN": ACN[ae.action_anti_pd1],
            "AEOUT": OUT[ae.outcome],
            "AESDTH": yn(ae.sae_death),
            "AESLIFE": yn(ae.sae_life_threatening),
            "AESHOSP": yn(ae.sae_hospitalisation),
            "AESDISAB": yn(ae.sae_disability),
            "AESCONG": yn(ae.sae_congenital_anomaly),
            "AESMIE": yn(ae.sae_other_important),
            "AESTDTC": ae.onset_date,
            "AEENDTC": ae.end_date,
            "AEENRF": "ONGOING" if ae.ongoing else "",
        }


def _suppae(ae: Any, subject: str, seq: int) -> Iterator[dict]:
    qualifiers = {
        "AERELTRC": REL[ae.rel_tracer],
        "AERELPET": REL[ae.rel_pet],
        "AERELBX": REL[ae.rel_biopsy],
        "AERELPD1": REL[ae.rel_anti_pd1],
        "AECTCV": ae.ctcae_version,
        "AEIMMUN": yn(ae.immune_related),
    }
    for qnam, qval in qualifiers.items():
        yield {
            "STUDYID": sdtm.STUDYID,
            "RDOMAIN": "AE",
            "USUBJID": subject,
            "IDVAR": "AESEQ",
            "IDVARVAL": str(seq),
            "QNAM": qnam,
            "QLABEL": sdtm.SUPPAE_QUALIFIERS[qnam],
            "QVAL": qval,
            "QORIG": "CRF" if qnam != "AECTCV" else "Assigned",
            "QEVAL": "INVESTIGATOR" if qnam.startswith("AEREL") else "",
        }


def ex_rows(user: Any) -> tuple[list[dict], list[dict]]:
    return list(iter_ex(user)), list(iter_ex(user, supp=True))


def _dose_events(user: Any) -> Iterator[tuple]:
    """Tracer and anti-PD-1 doses merged in (participant, time, treatment) order from two ordered streams
    (study ids compared byte-wise in SQL, as Python compares them)."""
    by_subject = Collate("participant__study_id", "BINARY" if connection.vendor == "sqlite" else "C")
    tracer = (
        (
            d.participant.study_id,
            d.administered_at,
            TRACER,
            float(d.net_injected_mbq),
            "MBq",
            d.visit.name,
            d.mass_dose_mg,
        )
        for d in _scoped(TracerDose, user)
        .select_related("participant", "visit")
        .order_by(by_subject, "administered_at", "id")
        .iterator(chunk_size=CHUNK)
    )
    anti_pd1 = (
        (
            d.participant.study_id,
            d.administered_at,
            d.drug.upper(),
            float(d.dose_mg),
            "mg",
            d.visit.name if d.visit else "",
            None,
        )
        for d in _scoped(AntiPD1Dose, user)
        .select_related("participant", "visit")
        .order_by(by_subject, "administered_at", "drug", "id")
        .iterator(chunk_size=CHUNK)
    )
    return heapq.merge(tracer, anti_pd1, key=lambda e: (e[0], e[1], e[2]))


def iter_ex(user: Any, *, supp: bool = False) -> Iterator[dict]:
    """EX rows (or, with supp, the SUPPEX tracer mass doses) in EXSEQ order."""
    seq: dict[str, int] = defaultdict(int)
    for study_id, when, treatment, dose, unit, visit, mass in _dose_events(user):
        subject = usubjid(study_id)
        seq[subject] += 1
        if not supp:
            yield {
                "STUDYID": sdtm.STUDYID,
                "DOMAIN": "EX",
                "USUBJID": subject,
                "EXSEQ": seq[subject],
                "EXTRT": treatment,
                "EXDOSE": dose,
                "EXDOSU": unit,
                "EXDOSFRM": "SOLUTION",
                "EXROUTE": "INTRAVENOUS",
                "VISIT": visit,
                "EXSTDTC": sdtm.dtc(when),
                "EXENDTC": sdtm.dtc(when),
            }
        elif mass is not None:
            yield {
                "STUDYID": sdtm.STUDYID,
                "RDOMAIN": "EX",
                "USUBJID": subject,
                "IDVAR": "EXSEQ",
                "IDVARVAL": str(seq[subject]),
                "QNAM": "EXMASSMG",
                "QLABEL": "Tracer mass dose (mg)",
                "QVAL": str(mass),
                "QORIG": "CRF",
                "QEVAL": "",
            }


def tumour_rows(user: Any) -> tuple[list[dict], list[dict], list[dict]]:
    return list(iter_tu(user)), list(iter_tr(user)), list(iter_rs(user))


def iter_tu(user: Any) -> Iterator[dict]:
    lesion_model, measurement_model = _model("lesions.Lesion"), _model("lesions.Measurement")
    if lesion_model is None:
        return
    seq: dict[str, int] = defaultdict(int)
    first_seen: dict[int, tuple[str, Any]] = {}  # lesion id -> (modality, date) of its first assessment
    if measurement_model is not None:
        for lesion_id, modality, date in (
            _scoped(measurement_model, user)
            .order_by("assessment__date")
            .values_list("lesion_id", "assessment__modality", "assessment__date")
            .iterator(chunk_size=CHUNK)
        ):
            first_seen.setdefault(lesion_id, (modality, date))
    for lesion in (
        _scoped(lesion_model, user)
        .select_related("participant")
        .order_by("participant__study_id", "label")
        .iterator(chunk_size=CHUNK)
    ):
        subject = usubjid(lesion.participant.study_id)
        seen = first_seen.get(lesion.pk)
        seq[subject] += 1
        yield {
            "STUDYID": sdtm.STUDYID,
            "DOMAIN": "TU",
            "USUBJID": subject,
            "TUSEQ": seq[subject],
            "TULNKID": lesion.label,
            "TUTESTCD": "TUMIDENT",
            "TUTEST": "Tumor Identification",
            "TUORRES": ROLE[lesion.role],
            "TUSTRESC": ROLE[lesion.role],
            "TULOC": (lesion.organ + (f", {lesion.location}" if lesion.location else ""))[:60],
            "TUMETHOD": METHOD.get(seen[0], "") if seen else "",
            "TUDTC": sdtm.dtc(seen[1]) if seen else "",
        }


def iter_tr(user: Any) -> Iterator[dict]:
    """Lesion measurements, then the SUV results of lesion VOIs (TRSEQ continues per subject)."""
    if _model("lesions.Lesion") is None:
        return
    measurement_model = _model("lesions.Measurement")
    seq: dict[str, int] = defaultdict(int)

    def next_seq(subject: str) -> int:
        seq[subject] += 1
        return seq[subject]

    if measurement_model is not None:
        qs = _scoped(measurement_model, user).select_related("participant", "lesion", "assessment")
        for m in qs.order_by("participant__study_id", "assessment__date", "lesion__label").iterator(
            chunk_size=CHUNK
        ):
            if m.non_target_state or m.value_mm is None and m.state == "measured":
                continue
            subject = usubjid(m.participant.study_id)
            test = "LPERP" if m.lesion.nodal else "LDIAM"
            yield _tr(
                subject,
                next_seq(subject),
                m.lesion.label,
                test,
                m.effective_mm,
                "mm",
                METHOD.get(m.assessment.modality, ""),
                sdtm.dtc(m.assessment.date),
            )
    yield from _suv_rows(user, next_seq)


def iter_rs(user: Any) -> Iterator[dict]:
    if _model("lesions.Lesion") is None:
        return
    assessment_model = _model("lesions.Assessment")
    if assessment_model is None:
        return
    seq: dict[str, int] = defaultdict(int)
    for a in (
        _scoped(assessment_model, user)
        .select_related("participant")
        .order_by("participant__study_id", "date")
        .iterator(chunk_size=CHUNK)
    ):
        subject = usubjid(a.participant.study_id)
        for cat, test, value in (
            ("RECIST 1.1", "OVRLRESP", a.recist_response),
            ("RECIST 1.1", "TRGRESP", a.target_response),
            ("RECIST 1.1", "NTRGRESP", a.non_target_response),
            ("iRECIST", "OVRLRESP", a.irecist_response),
        ):
            if not value:
                continue
            term = value.replace("NON_CR_NON_PD", "NON-CR/NON-PD")
            seq[subject] += 1
            yield {
                "STUDYID": sdtm.STUDYID,
                "DOMAIN": "RS",
                "USUBJID": subject,
                "RSSEQ": seq[subject],
                "RSTESTCD": test,
                "RSTEST": sdtm.RS_TESTS[test],
                "RSCAT": cat,
                "RSORRES": term,
                "RSSTRESC": term,
                "RSEVAL": "INVESTIGATOR",
                "RSDTC": sdtm.dtc(a.date),
            }


def _tr(subject, seq, link, test, value, unit, method, when) -> dict:
    return {
        "STUDYID": sdtm.STUDYID,
        "DOMAIN": "TR",
        "USUBJID": subject,
        "TRSEQ": seq,
        "TRLNKID": link,
        "TRTESTCD": test,
        "TRTEST": sdtm.TR_TESTS[test],
        "TRORRES": "" if value is None else f"{value:g}",
        "TRORRESU": unit if value is not None else "",
        "TRSTRESC": "" if value is None else f"{value:g}",
        "TRSTRESN": value,
        "TRSTRESU": unit if value is not None else "",
        "TRSTAT": "NOT DONE" if value is None else "",
        "TRMETHOD": method,
        "TRDTC": when,
    }


def _suv_rows(user: Any, next_seq: Callable[[str], int]) -> Iterator[dict]:
    result_model = _model("imaging.VoiResult")
    if result_model is None:
        return
    qs = access.scope_to_user(result_model.objects.filter(voi__voided=False, voi__lesion__isnull=False), user)
    for r in (
        qs.select_related("participant", "voi__lesion", "voi__scan")
        .order_by("participant__study_id", "id")
        .iterator(chunk_size=CHUNK)
    ):
        subject = usubjid(r.participant.study_id)
        when = sdtm.dtc(r.voi.scan.acquired_at)
        for test, value in (("SUVMAX", r.suv_max), ("SUVMEAN", r.suv_mean), ("SUVPEAK", r.suv_peak)):
            yield _tr(
                subject,
                next_seq(subject),
                r.voi.lesion.label,
                test,
                round(value, 4),
                "g/mL",
                "PET/CT",
                when,
            )


MI_METRICS = (
    ("density_intratumoural", "Intratumoural density", "cells/mm2"),
    ("density_stromal", "Stromal density", "cells/mm2"),
    ("percent_positive", "Positive cells", "%"),
    ("tps", "Tumour proportion score", "%"),
    ("cps", "Combined positive score", ""),
    ("h_score", "H-score", ""),
    ("semi_quant", "Semi-quantitative intensity", ""),
    ("value", "Value", ""),
)


def mi_rows(user: Any) -> list[dict]:
    return list(iter_mi(user))


def iter_mi(user: Any) -> Iterator[dict]:
    model = _model("pathology.IhcScore")
    if model is None:
        return
    seq: dict[str, int] = defaultdict(int)
    qs = _scoped(model, user).select_related("participant", "biopsy", "marker")
    for s in qs.order_by(
        "participant__study_id", "biopsy__biopsy_date", "marker__order", "scorer_number"
    ).iterator(chunk_size=CHUNK):
        subject = usubjid(s.participant.study_id)
        for attr, label, unit in MI_METRICS:
            value = getattr(s, attr)
            if value is None:
                continue
            seq[subject] += 1
            detail = f"{label}, scorer {s.scorer_number}"
            yield {
                "STUDYID": sdtm.STUDYID,
                "DOMAIN": "MI",
                "USUBJID": subject,
                "MISEQ": seq[subject],
                "MIREFID": s.biopsy.sample_id,
                "MITESTCD": s.marker.code.upper().replace("-", "")[:8],
                "MITEST": s.marker.name[:40],
                "MITSTDTL": detail[:40],
                "MIORRES": str(value),
                "MIORRESU": unit,
                "MISTRESC": str(value),
                "MISTRESN": float(value),
                "MISTRESU": unit,
                "MISPEC": "TISSUE",
                "MILOC": s.biopsy.organ[:60],
                "MIMETHOD": "IMMUNOHISTOCHEMISTRY",
                "MIDTC": sdtm.dtc(s.biopsy.biopsy_date),
            }


# Every dataset as a stream of rows (a database chunk at a time), in the order of the zip and the file API.
STREAMS: dict[str, Callable[[Any], Iterator[dict]]] = {
    "DM": iter_dm,
    "AE": iter_ae,
    "SUPPAE": lambda user: iter_ae(user, supp=True),
    "EX": iter_ex,
    "SUPPEX": lambda user: iter_ex(user, supp=True),
    "TU": iter_tu,
    "TR": iter_tr,
    "RS": iter_rs,
    "MI": iter_mi,
    **sdtm_clinical_data.STREAMS,
}


def build(user: Any) -> dict[str, list[dict]]:
    """Every dataset's rows as lists (empty when the source app has no data); small trials and tests only:
    files are written from `STREAMS`."""
    return {name: list(stream(user)) for name, stream in STREAMS.items()}


SPOOL_BATCH = 1000  # rows pickled together into the spool between the CSV and the XPT pass


def write_dataset_files(
    dataset: sdtm.Dataset, rows: Iterable[dict], csv_out: IO[bytes], xpt_out: IO[bytes]
) -> int:
    """One pass over the rows writes the CSV and spools XPT cells to a temporary file while the Char widths
    are measured; a second pass over the spool writes the XPT. Memory stays flat whatever the row count."""
    text = io.TextIOWrapper(csv_out, encoding="utf-8", newline="", write_through=True)
    csv_stream = sdtm.CsvStream(dataset, text)
    n = 0
    widths = [8 if v.type == "Num" else 1 for v in dataset.variables]
    with tempfile.TemporaryFile() as spool:
        batch: list[tuple] = []
        for row in rows:
            csv_stream.write(row)
            cells = sdtm.xpt_cells(dataset, row)
            batch.append(cells)
            n += 1
            if len(batch) >= SPOOL_BATCH:
                widths = _spool(spool, batch, dataset, widths)
                batch = []
        widths = _spool(spool, batch, dataset, widths)
        text.flush()
        text.detach()
        spool.seek(0)
        writer = sdtm.XptWriter(dataset, xpt_out, widths, dt.datetime.now(dt.UTC))
        while True:
            try:
                chunk = pickle.load(spool)
            except EOFError:
                break
            for cells in chunk:
                writer.write(cells)
        writer.close()
    return n


def _spool(spool: IO[bytes], batch: list[tuple], dataset: sdtm.Dataset, widths: list[int]) -> list[int]:
    if not batch:
        return widths
    pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
    return [max(a, b) for a, b in zip(widths, sdtm.xpt_widths(dataset, batch), strict=True)]


def write_datasets_into(zf: zipfile.ZipFile, user: Any) -> list[str]:
    """Every dataset as CSV and XPT into the zip, one dataset and one row chunk at a time."""
    names = []
    for name, stream in STREAMS.items():
        dataset = sdtm.DATASETS[name]
        csv_name, xpt_name = f"sdtm/{name.lower()}.csv", f"sdtm/{name.lower()}.xpt"
        with tempfile.TemporaryFile() as xpt_tmp:
            with zf.open(csv_name, "w", force_zip64=True) as csv_out:
                write_dataset_files(dataset, stream(user), csv_out, xpt_tmp)
            xpt_tmp.seek(0)
            with zf.open(xpt_name, "w", force_zip64=True) as xpt_out:
                shutil.copyfileobj(xpt_tmp, xpt_out, 1 << 20)
        names += [csv_name, xpt_name]
    zf.writestr("sdtm/define.json", json.dumps(sdtm.define(), indent=2))
    return [*names, "sdtm/define.json"]
