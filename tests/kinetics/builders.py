"""A small trial with designed PET uptake so every PK number on the pages can be checked analytically.

Imaging rows (scans, uploads, VOIs, results) are written directly as test data in the shapes imaging stores.
Participant 0 has a PK series (24, 48, 96, 144 h) after both injections: blood pool SUVmean
10 exp(-ln2/60 h * t) (biological T1/2 60 h) and a whole-organ liver mask (1500 mL) with SUVmean
4 exp(-ln2/200 h * t). Everyone has the protocol scans at 48 h and 144 h after each injection.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from casebook.models import PkSample
from imaging.models import Scan, SeriesUpload, Voi, VoiResult
from tests import factories
from trial.models import Membership, Participant, Role, TracerDose, Visit

WEIGHT_KG = 75.0
INJECTED_MBQ = 36.5
LIVER_ML = 1500.0
N_PARTICIPANTS = 6
BLOOD_SHIFT = [0.5, 0.3, -0.2, 0.1, 0.6, 0.4]  # on-treatment minus baseline blood SUVmean at 48 h
PK_HOURS = (24.0, 48.0, 96.0, 144.0)


def blood(t: float) -> float:
    return 10.0 * math.exp(-math.log(2.0) / 60.0 * t)


def liver(t: float) -> float:
    return 4.0 * math.exp(-math.log(2.0) / 200.0 * t)


def _visit(p: Any, code: str, tracer: str, hours: float) -> Visit:
    base = p.visits.get(code=tracer).planned_date
    return Visit.objects.create(
        participant=p,
        code=code,
        name=code,
        kind="pet",
        planned_date=base + dt.timedelta(days=int(hours // 24)),
    )


def _participant(site: Any, i: int, start: dt.date) -> Participant:
    """Direct test rows (no enrolment service): the PK pages only read participants, visits and PET."""
    p = Participant.objects.create(
        site=site,
        sequence_number=i + 1,
        study_id=f"{site.code}-{i + 1:03d}",
        year_of_birth=1961,
        sex="F",
        height_cm=Decimal("171.0"),
        weight_kg=Decimal(f"{WEIGHT_KG}"),
        tumour_type="Melanoma",
        planned_anti_pd1="nivolumab",
        status="on_treatment",
        status_date=start,
    )
    for code, day in (("BL_TRACER", 0), ("OT_TRACER", 39)):
        Visit.objects.create(
            participant=p, code=code, name=code, kind="tracer", planned_date=start + dt.timedelta(days=day)
        )
    return p


def _result(p: Any, scan: Scan, upload: SeriesUpload, name: str, suv: float, **voi: Any) -> None:
    v = Voi.objects.create(participant=p, scan=scan, upload=upload, name=name, **voi)
    VoiResult.objects.create(
        voi=v,
        participant=p,
        suv_max=suv * 1.3,
        suv_mean=suv,
        suv_peak=suv * 1.1,
        pct_id_per_kg_mean=100.0 * suv / WEIGHT_KG,
        pct_id_per_kg_max=130.0 * suv / WEIGHT_KG,
        volume_ml=LIVER_ML if voi.get("source") == "nifti" else 4.2,
        metrics={},
        provenance={},
        computed_at=timezone.now(),
    )


def add_scan(
    p: Any, code: str, tracer: str, hours: float, blood_suv: float, liver_suv: float, tumour: float
) -> None:
    scan = Scan.objects.create(
        participant=p,
        visit=_visit(p, code, tracer, hours),
        modality="PT",
        tracer_visit_code=tracer,
        planned_hours_post_injection=hours,
        status="analysed",
    )
    upload = SeriesUpload.objects.create(
        participant=p,
        scan=scan,
        storage_dir="test",
        instance_count=1,
        total_bytes=1,
        series_instance_uid=f"1.2.{scan.pk}",
        study_instance_uid="1.2",
        frame_of_reference_uid="1.2",
        source_fingerprint=f"{scan.pk:064d}",
        geometry={},
        suv_before_deid={},
        suv_after_deid={},
        suv_parameters={"hours_post_injection": hours, "injected_mbq": INJECTED_MBQ, "weight_kg": WEIGHT_KG},
        state="done",
    )
    _result(p, scan, upload, "Blood pool", blood_suv, kind="organ", organ="blood_pool", source="sphere")
    _result(p, scan, upload, "Liver", liver_suv, kind="organ", organ="liver", source="nifti")
    _result(p, scan, upload, "T1", tumour, kind="lesion", source="sphere")


def _user(username: str, site: Any, role: str) -> Any:
    """A user without a password hash (PBKDF2 costs a second each): these tests log in with force_login."""
    user = get_user_model().objects.create(
        username=username, first_name=username.capitalize(), last_name="Tester"
    )
    Membership.objects.create(user=user, site=site, role=role)
    return user


SERUM_HOURS = (5 / 60, 0.5, 1.0, 24.0, 48.0, 96.0, 144.0)


def serum(t: float) -> float:
    """kBq/mL decay-corrected to injection: T1/2 1.5 h and 70 h."""
    return 20.0 * math.exp(-math.log(2.0) / 1.5 * t) + 8.0 * math.exp(-math.log(2.0) / 70.0 * t)


def add_serum(p: Any) -> None:
    """Casebook PK samples after the baseline injection (rows as casebook stores them, activity precomputed)."""
    visit = p.visits.get(code="BL_TRACER")
    injected = dt.datetime.combine(visit.planned_date, dt.time(9, 0), tzinfo=dt.UTC)
    dose = TracerDose.objects.create(
        participant=p,
        visit=visit,
        administered_at=injected,
        activity_before_mbq=Decimal("37.0"),
        residual_mbq=Decimal("0.5"),
        mass_dose_mg=Decimal("10.0"),
        batch="ZR-TEST",
    )
    for hours in SERUM_HOURS:
        sampled = injected + dt.timedelta(hours=hours)
        PkSample.objects.create(
            participant=p,
            tracer_dose=dose,
            nominal_timepoint=f"{hours:g} h",
            sampled_at=sampled,
            counted_at=sampled + dt.timedelta(hours=1),
            sample_volume_ml=Decimal("1.000"),
            gross_counts=1000,
            count_time_s=Decimal("60"),
            counter_efficiency=Decimal("0.5"),
            minutes_after_injection=Decimal(f"{hours * 60:.2f}"),
            activity_bq_per_ml=Decimal(f"{serum(float(Decimal(f'{hours * 60:.2f}')) / 60) * 1000:.3f}"),
        )


def build() -> dict[str, Any]:
    site = factories.make_site()
    other = factories.make_site("BE01", "Leuven", "BE", "Europe/Brussels")
    radiologist = _user("radio_pk", site, Role.RADIOLOGIST)
    monitor = _user("monitor_pk", site, Role.MONITOR)
    outsider = _user("radio_be_pk", other, Role.RADIOLOGIST)
    start = timezone.localdate() - dt.timedelta(days=120)
    people = []
    for i in range(N_PARTICIPANTS):
        p = _participant(site, i, start)
        people.append(p)
        for prefix, tracer in (("BL", "BL_TRACER"), ("OT", "OT_TRACER")):
            hours_list = PK_HOURS if i == 0 else (48.0, 144.0)
            for hours in hours_list:
                code = {48.0: f"{prefix}_PET1", 144.0: f"{prefix}_PET2"}.get(
                    hours, f"{prefix}_PET_{hours:.0f}H"
                )
                b = blood(hours) + 0.2 * i
                if prefix == "OT" and hours == 48.0:
                    b += BLOOD_SHIFT[i]
                add_scan(p, code, tracer, hours, b, liver(hours), 3.0 + 0.1 * i)
    add_serum(people[0])
    return {
        "people": people,
        "pk": people[0],
        "radiologist": radiologist,
        "monitor": monitor,
        "outsider": outsider,
    }
