"""A small demo-like trial for the analysis tests: designed values so every plot's numbers can be checked.

Pathology rows go through pathology services; other apps' rows (scans, VOIs, MRI parameters, assessments,
SAEs) are written directly as test data in the shapes those apps store.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from imaging.models import Scan, SeriesUpload, Voi, VoiResult
from lesions.models import Assessment, MriParameterSet, MriRoi, ParticipantResponse
from safety.models import AdverseEvent, CtcaeTerm
from tests import factories
from tests.pathology.builders import make_biopsy, make_lesion, make_score
from trial.models import AntiPD1Dose, Visit

N = 8
BL_SUVMAX = [2.0 + i for i in range(N)]
CD8_DENSITY = [100, 300, 200, 400, 500, 700, 600, 800]  # ranks 1 3 2 4 5 7 6 8 against SUVmax ranks 1..8
UPTAKE_CHANGE = [0.5, 0.3, -0.2, 0.1, 0.6, -0.1, 0.2, 0.4]
SUM_CHANGE = [-0.5, -0.35, 0.25, 0.0, -0.6, 0.3, -0.1, -0.4]
PHENOTYPES = ["desert", "excluded", "desert", "excluded", "inflamed", "inflamed", "excluded", "inflamed"]
PET_CODES = ("BL_PET1", "BL_PET2", "OT_PET1", "OT_PET2")


def recist_code(change: float) -> str:
    return "PR" if change <= -0.3 else "PD" if change >= 0.2 else "SD"


def irecist_code(change: float) -> str:
    return {"PR": "iPR", "SD": "iSD", "PD": "iUPD"}[recist_code(change)]


def _visit(p: Any, code: str) -> Visit:
    return p.visits.get(code=code)


def _scan(p: Any, code: str) -> Scan:
    v = _visit(p, code)
    scan = Scan.objects.filter(visit=v).first() or Scan(
        participant=p, visit=v, modality="PT", tracer_visit_code=code[:3] + "TRACER"
    )
    scan.modality = "PT"
    scan.status = "analysed"
    scan.acquired_at = dt.datetime.combine(v.planned_date, dt.time(10, 0), tzinfo=dt.UTC)
    scan.save()
    return scan


def _upload(p: Any, scan: Scan) -> SeriesUpload:
    return SeriesUpload.objects.create(
        participant=p,
        scan=scan,
        storage_dir="test",
        instance_count=1,
        total_bytes=1,
        series_instance_uid="1.2",
        study_instance_uid="1.2",
        frame_of_reference_uid="1.2",
        source_fingerprint=f"{scan.pk:064d}",
        geometry={},
        suv_before_deid={},
        suv_after_deid={},
        suv_parameters={},
        state="done",
    )


def _voi(
    p: Any,
    scan: Scan,
    upload: SeriesUpload,
    name: str,
    suv_max: float,
    suv_mean: float,
    lesion: Any = None,
    organ: str = "",
) -> Voi:
    voi = Voi.objects.create(
        participant=p,
        scan=scan,
        upload=upload,
        name=name,
        kind="organ" if organ else "lesion",
        organ=organ,
        source="sphere",
        lesion=lesion,
    )
    VoiResult.objects.create(
        voi=voi,
        participant=p,
        suv_max=suv_max,
        suv_mean=suv_mean,
        suv_peak=0.9 * suv_max,
        pct_id_per_kg_mean=0.01,
        pct_id_per_kg_max=0.02,
        volume_ml=4.2,
        metrics={},
        provenance={},
        computed_at=timezone.now(),
    )
    return voi


def _imaging(p: Any, i: int, lesion: Any) -> None:
    for k, code in enumerate(PET_CODES):
        scan = _scan(p, code)
        upload = _upload(p, scan)
        base = BL_SUVMAX[i] * (0.8 if code.endswith("1") else 1.0)
        suv = base if code.startswith("BL") else base * (1 + UPTAKE_CHANGE[i])
        _voi(p, scan, upload, "T1", suv, suv * 0.6, lesion=lesion)
        _voi(
            p, scan, upload, "spleen", 3.0 + 0.1 * i + 0.2 * k + 1.0, 3.0 + 0.1 * i + 0.2 * k, organ="spleen"
        )
        _voi(p, scan, upload, "liver", 1.5, 1.0 + 0.05 * i, organ="liver")


def _mri(p: Any, i: int, lesion: Any) -> None:
    v = _visit(p, "BL_MRI")
    roi = MriRoi.objects.create(participant=p, lesion=lesion, visit=v, acquired_on=v.planned_date)
    MriParameterSet.objects.create(
        participant=p,
        roi=roi,
        kind="dce",
        method="entered",
        ktrans_per_min=0.1 + 0.02 * i,
        ve=0.3 + 0.01 * i,
        vp=0.05,
    )
    MriParameterSet.objects.create(
        participant=p,
        roi=roi,
        kind="ivim",
        method="entered",
        ivim_f=0.1 + 0.01 * i,
        ivim_d_mm2_s=1.2e-3 - 0.05e-3 * i,
        ivim_dstar_mm2_s=0.02,
    )
    MriParameterSet.objects.create(participant=p, roi=roi, kind="dki", method="entered", dki_k=0.8 + 0.05 * i)


def _response(p: Any, i: int, day1: dt.date) -> None:
    Assessment.objects.create(participant=p, date=day1 - dt.timedelta(days=7), sum_mm=100.0)
    code = recist_code(SUM_CHANGE[i])
    Assessment.objects.create(
        participant=p,
        date=day1 + dt.timedelta(days=56),
        sum_mm=100.0 * (1 + SUM_CHANGE[i]),
        recist_response=code,
        irecist_response=irecist_code(SUM_CHANGE[i]),
    )
    ParticipantResponse.objects.create(
        participant=p, best_recist=code, best_irecist=irecist_code(SUM_CHANGE[i])
    )


def _treatment(p: Any, i: int) -> dt.date:
    day1 = _visit(p, "C1D1").planned_date
    Visit.objects.filter(pk=_visit(p, "C1D1").pk).update(actual_date=day1, status="done")
    for k in range(3):
        AntiPD1Dose.objects.create(
            participant=p,
            drug=p.planned_anti_pd1,
            dose_mg=Decimal("240"),
            administered_at=dt.datetime.combine(day1 + dt.timedelta(days=14 * k), dt.time(9), tzinfo=dt.UTC),
        )
    p.status = "on_treatment" if i % 2 == 0 else "follow_up"
    p.save(update_fields=["status"])
    return day1


def _sae(p: Any, day1: dt.date) -> None:
    term = CtcaeTerm.objects.order_by("id").first()
    AdverseEvent.objects.create(
        participant=p,
        term=term,
        ctcae_version=term.version,
        grade=3,
        onset_date=(day1 + dt.timedelta(days=39)).isoformat(),
        onset_precision="day",
        serious=True,
        sae_hospitalisation=True,
        outcome="recovered",
        action_anti_pd1="drug_interrupted",
        anti_pd1_drug=p.planned_anti_pd1,
        rel_tracer="unrelated",
        rel_pet="unrelated",
        rel_biopsy="unrelated",
        rel_anti_pd1="probable",
    )


def build_dataset(coordinator: Any, pathologist: Any, site: Any) -> list[Any]:
    """N participants with lesion T1 biopsied at baseline and on treatment, PET, MRI, responses, one SAE."""
    today = timezone.localdate()
    people = []
    for i in range(N):
        p = factories.enrol(
            coordinator,
            site,
            enrolment_date=today - dt.timedelta(days=200),
            tumour_type="Melanoma" if i % 2 == 0 else "Renal cell carcinoma",
            drug="nivolumab" if i < 4 else "cetrelimab",
        )
        lesion = make_lesion(pathologist, p, "T1", "Liver")
        _imaging(p, i, lesion)
        _mri(p, i, lesion)
        day1 = _treatment(p, i)
        _response(p, i, day1)
        if i == 2:
            _sae(p, day1)
        bl = make_biopsy(
            pathologist,
            p,
            lesion=lesion,
            period="baseline",
            date=_visit(p, "BL_BIOPSY").planned_date,
            sample_id=f"T-{i}-BL",
        )
        ot = make_biopsy(
            pathologist,
            p,
            lesion=lesion,
            period="on_treatment",
            date=_visit(p, "OT_BIOPSY").planned_date,
            sample_id=f"T-{i}-OT",
        )
        make_score(
            pathologist,
            bl,
            "CD8",
            density_intratumoural=Decimal(CD8_DENSITY[i]),
            percent_positive=Decimal(2 + i),
            semi_quant=min(3, i // 2),
            immune_phenotype=PHENOTYPES[i],
        )
        make_score(pathologist, ot, "CD8", density_intratumoural=Decimal(CD8_DENSITY[i] * 2))
        make_score(pathologist, bl, "PD-L1", tps=Decimal(5 * i), cps=Decimal(min(100, 8 * i)))
        people.append(p)
    return people
