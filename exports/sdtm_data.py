"""SDTM-style datasets from the database (scoped to the user's sites)."""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.apps import apps

from exports import sdtm
from trial import access
from trial.models import AntiPD1Dose, Participant, TracerDose

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


def dm_rows(user: Any) -> list[dict]:
    participants = _scoped(Participant, user, "site").select_related("site").order_by("study_id")
    first_dose: dict[int, Any] = {}
    for pid, when in (
        TracerDose.objects.filter(voided=False)
        .order_by("administered_at")
        .values_list("participant_id", "administered_at")
    ):
        first_dose.setdefault(pid, when)
    consent: dict[int, Any] = {}
    for p in participants.prefetch_related("consents"):
        dates = [c.consent_date for c in p.consents.all() if not c.voided]
        consent[p.pk] = min(dates) if dates else None
    rows = []
    for p in participants:
        rows.append(
            {
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
        )
    return rows


def ae_rows(user: Any) -> tuple[list[dict], list[dict]]:
    model = _model("safety.AdverseEvent")
    if model is None:
        return [], []
    rows, supp = [], []
    seq: dict[str, int] = defaultdict(int)
    qs = (
        _scoped(model, user)
        .select_related("participant", "term")
        .order_by("participant__study_id", "onset_date", "id")
    )
    for ae in qs:
        subject = usubjid(ae.participant.study_id)
        seq[subject] += 1
        overall = max((ae.rel_tracer, ae.rel_pet, ae.rel_biopsy, ae.rel_anti_pd1), key=REL_ORDER.index)
        rows.append(
            {
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
        )
        qualifiers = {
            "AERELTRC": REL[ae.rel_tracer],
            "AERELPET": REL[ae.rel_pet],
            "AERELBX": REL[ae.rel_biopsy],
            "AERELPD1": REL[ae.rel_anti_pd1],
            "AECTCV": ae.ctcae_version,
            "AEIMMUN": yn(ae.immune_related),
        }
        for qnam, qval in qualifiers.items():
            supp.append(
                {
                    "STUDYID": sdtm.STUDYID,
                    "RDOMAIN": "AE",
                    "USUBJID": subject,
                    "IDVAR": "AESEQ",
                    "IDVARVAL": str(seq[subject]),
                    "QNAM": qnam,
                    "QLABEL": sdtm.SUPPAE_QUALIFIERS[qnam],
                    "QVAL": qval,
                    "QORIG": "CRF" if qnam != "AECTCV" else "Assigned",
                    "QEVAL": "INVESTIGATOR" if qnam.startswith("AEREL") else "",
                }
            )
    return rows, supp


def ex_rows(user: Any) -> tuple[list[dict], list[dict]]:
    events = []
    for d in _scoped(TracerDose, user).select_related("participant", "visit"):
        events.append(
            (
                d.participant.study_id,
                d.administered_at,
                TRACER,
                float(d.net_injected_mbq),
                "MBq",
                d.visit.name,
                d.mass_dose_mg,
            )
        )
    for d in _scoped(AntiPD1Dose, user).select_related("participant", "visit"):
        events.append(
            (
                d.participant.study_id,
                d.administered_at,
                d.drug.upper(),
                float(d.dose_mg),
                "mg",
                d.visit.name if d.visit else "",
                None,
            )
        )
    rows, supp = [], []
    seq: dict[str, int] = defaultdict(int)
    for study_id, when, treatment, dose, unit, visit, mass in sorted(
        events, key=lambda e: (e[0], e[1], e[2])
    ):
        subject = usubjid(study_id)
        seq[subject] += 1
        rows.append(
            {
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
        )
        if mass is not None:
            supp.append(
                {
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
            )
    return rows, supp


def tumour_rows(user: Any) -> tuple[list[dict], list[dict], list[dict]]:
    lesion_model, measurement_model = _model("lesions.Lesion"), _model("lesions.Measurement")
    assessment_model = _model("lesions.Assessment")
    if lesion_model is None:
        return [], [], []
    tu, tr, rs = [], [], []
    seq: dict[tuple[str, str], int] = defaultdict(int)

    def next_seq(domain: str, subject: str) -> int:
        seq[(domain, subject)] += 1
        return seq[(domain, subject)]

    first_seen = {}
    if measurement_model is not None:
        for m in _scoped(measurement_model, user).select_related("assessment").order_by("assessment__date"):
            first_seen.setdefault(m.lesion_id, m.assessment)
    for lesion in (
        _scoped(lesion_model, user).select_related("participant").order_by("participant__study_id", "label")
    ):
        subject = usubjid(lesion.participant.study_id)
        seen = first_seen.get(lesion.pk)
        tu.append(
            {
                "STUDYID": sdtm.STUDYID,
                "DOMAIN": "TU",
                "USUBJID": subject,
                "TUSEQ": next_seq("TU", subject),
                "TULNKID": lesion.label,
                "TUTESTCD": "TUMIDENT",
                "TUTEST": "Tumor Identification",
                "TUORRES": ROLE[lesion.role],
                "TUSTRESC": ROLE[lesion.role],
                "TULOC": (lesion.organ + (f", {lesion.location}" if lesion.location else ""))[:60],
                "TUMETHOD": METHOD.get(seen.modality, "") if seen else "",
                "TUDTC": sdtm.dtc(seen.date) if seen else "",
            }
        )
    if measurement_model is not None:
        qs = _scoped(measurement_model, user).select_related("participant", "lesion", "assessment")
        for m in qs.order_by("participant__study_id", "assessment__date", "lesion__label"):
            if m.non_target_state or m.value_mm is None and m.state == "measured":
                continue
            subject = usubjid(m.participant.study_id)
            test = "LPERP" if m.lesion.nodal else "LDIAM"
            value = m.effective_mm
            tr.append(
                _tr(
                    subject,
                    next_seq("TR", subject),
                    m.lesion.label,
                    test,
                    value,
                    "mm",
                    METHOD.get(m.assessment.modality, ""),
                    sdtm.dtc(m.assessment.date),
                )
            )
    tr.extend(_suv_rows(user, next_seq))
    if assessment_model is not None:
        for a in (
            _scoped(assessment_model, user)
            .select_related("participant")
            .order_by("participant__study_id", "date")
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
                rs.append(
                    {
                        "STUDYID": sdtm.STUDYID,
                        "DOMAIN": "RS",
                        "USUBJID": subject,
                        "RSSEQ": next_seq("RS", subject),
                        "RSTESTCD": test,
                        "RSTEST": sdtm.RS_TESTS[test],
                        "RSCAT": cat,
                        "RSORRES": term,
                        "RSSTRESC": term,
                        "RSEVAL": "INVESTIGATOR",
                        "RSDTC": sdtm.dtc(a.date),
                    }
                )
    return tu, tr, rs


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


def _suv_rows(user: Any, next_seq) -> list[dict]:
    result_model = _model("imaging.VoiResult")
    if result_model is None:
        return []
    rows = []
    qs = access.scope_to_user(result_model.objects.filter(voi__voided=False, voi__lesion__isnull=False), user)
    for r in qs.select_related("participant", "voi__lesion", "voi__scan").order_by(
        "participant__study_id", "id"
    ):
        subject = usubjid(r.participant.study_id)
        when = sdtm.dtc(r.voi.scan.acquired_at)
        for test, value in (("SUVMAX", r.suv_max), ("SUVMEAN", r.suv_mean), ("SUVPEAK", r.suv_peak)):
            rows.append(
                _tr(
                    subject,
                    next_seq("TR", subject),
                    r.voi.lesion.label,
                    test,
                    round(value, 4),
                    "g/mL",
                    "PET/CT",
                    when,
                )
            )
    return rows


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
    model = _model("pathology.IhcScore")
    if model is None:
        return []
    rows = []
    seq: dict[str, int] = defaultdict(int)
    qs = _scoped(model, user).select_related("participant", "biopsy", "marker")
    for s in qs.order_by("participant__study_id", "biopsy__biopsy_date", "marker__order", "scorer_number"):
        subject = usubjid(s.participant.study_id)
        for attr, label, unit in MI_METRICS:
            value = getattr(s, attr)
            if value is None:
                continue
            seq[subject] += 1
            detail = f"{label}, scorer {s.scorer_number}"
            rows.append(
                {
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
            )
    return rows


def build(user: Any) -> dict[str, list[dict]]:
    """Every dataset's rows (empty list when the source app has no data)."""
    ae, suppae = ae_rows(user)
    ex, suppex = ex_rows(user)
    tu, tr, rs = tumour_rows(user)
    return {
        "DM": dm_rows(user),
        "AE": ae,
        "SUPPAE": suppae,
        "EX": ex,
        "SUPPEX": suppex,
        "TU": tu,
        "TR": tr,
        "RS": rs,
        "MI": mi_rows(user),
    }


def write_datasets_into(zf: zipfile.ZipFile, user: Any) -> list[str]:
    names = []
    data = build(user)
    with tempfile.TemporaryDirectory() as tmp:
        for name, rows in data.items():
            dataset = sdtm.DATASETS[name]
            zf.writestr(f"sdtm/{name.lower()}.csv", sdtm.to_csv(dataset, rows))
            path = Path(tmp) / f"{name.lower()}.xpt"
            sdtm.write_xpt(dataset, rows, path)
            zf.write(path, f"sdtm/{name.lower()}.xpt")
            names += [f"sdtm/{name.lower()}.csv", f"sdtm/{name.lower()}.xpt"]
    zf.writestr("sdtm/define.json", json.dumps(sdtm.define(), indent=2))
    return [*names, "sdtm/define.json"]
