"""Demo PK series: extra PET time points per tracer injection so that curves can be fitted.

The protocol calendar plans two PET scans per injection (day 2 and day 6: 48 h and 144 h). A curve fit needs
three points, so for the first DEMO_PK_PARTICIPANTS demo participants with PET this step adds unscheduled PET
visits at 24 h and 96 h after each injection (PK series, as the phase I study scanned at 24, 48, 96-144 h),
generates their 89Zr series (quant.pet.phantom) and ingests them through the same upload pipeline, with the
same organ and lesion VOIs as the imaging demo. Uptake at the extra times follows the log-linear course between
the imaging demo's 48 h and 144 h levels (blood adds a faster early phase). Idempotent.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from imaging import demo as imaging_demo
from imaging import services as imaging_services
from imaging.models import Modality, Scan
from imaging.upload import temp_upload_dir
from kinetics import services as kinetics_services
from quant.pet.phantom import SCAN_START, Lesion, PhantomSpec, write_phantom
from trial.audit import AuditContext, audited_create
from trial.models import AuditSource, TracerDose, Visit, VisitStatus

DEMO_PK_PARTICIPANTS = 2
# Serum samples (casebook PK samples): 5, 30 and 60 min and at each scan of the PK series (hours).
SERUM_HOURS = (5 / 60, 0.5, 1.0, 24.0, 48.0, 96.0, 144.0)
SERUM_FAST_FRACTION = 0.6  # early distribution phase on top of the blood-pool course, T1/2 2 h
SERUM_FAST_HALF_LIFE_H = 2.0
EXTRA_DAYS = (1, 4)  # 24 h and 96 h after the injection
EARLY_BLOOD_FACTOR = 1.12  # faster early blood phase on top of the log-linear course at 24 h
TRACERS = ("BL_TRACER", "OT_TRACER")


def _level(name: str, hours: float, on_treatment: bool, factors: tuple[float, float]) -> float:
    """Log-linear course through the imaging demo's 48 h and 144 h levels (no noise: rng-free anchors)."""
    early = imaging_demo._uptake(name, 48.0, on_treatment, random.Random(0), factors)
    late = imaging_demo._uptake(name, 144.0, on_treatment, random.Random(0), factors)
    rate = math.log(early / late) / 96.0
    value = early * math.exp(-rate * (hours - 48.0))
    if name == "blood_pool" and hours < 48.0:
        value *= EARLY_BLOOD_FACTOR
    return value


def _spec(
    hours: float, on_treatment: bool, weight: float, dose_mbq: float, rng: random.Random, factors
) -> PhantomSpec:
    def region(name: str, where: dict) -> Lesion:
        centre, radius = where[name]
        return Lesion(
            name,
            centre,
            radius,
            round(_level(name, hours, on_treatment, factors) * rng.uniform(0.96, 1.04), 2),
        )

    return PhantomSpec(
        shape=imaging_demo.SHAPE,
        weight_kg=weight,
        dose_bq=dose_mbq * 1e6,
        hours_post_injection=hours,
        background_suv=0.6,
        liver=region("liver", imaging_demo.ORGANS),
        blood=region("blood_pool", imaging_demo.ORGANS),
        lesions=[
            region("spleen", imaging_demo.ORGANS),
            region("muscle", imaging_demo.ORGANS),
            *(region(n, imaging_demo.LESIONS) for n in imaging_demo.LESIONS),
        ],
        series_description=f"PET WB 89Zr-Df-crefmirlimab {hours:.0f}h PK series",
    )


def _extra_visit(ctx: AuditContext, dose: TracerDose, days: int) -> Visit | None:
    participant = dose.participant
    prefix = "OT" if dose.visit.code.startswith("OT_") else "BL"
    code = f"{prefix}_PET_{days * 24}H"
    existing = participant.visits.filter(code=code, voided=False).first()
    if existing is not None:
        return existing
    when = dose.visit.planned_date + dt.timedelta(days=days)
    actual = (dose.visit.actual_date or dose.visit.planned_date) + dt.timedelta(days=days)
    if actual >= timezone.localdate():
        return None
    phase = "On-treatment" if prefix == "OT" else "Baseline"
    return audited_create(
        Visit(
            participant=participant,
            code=code,
            name=f"{phase} PET {days * 24} h post-injection (PK series, unscheduled)",
            kind="pet",
            planned_date=when,
            actual_date=actual,
            status=VisitStatus.DONE,
            is_study_procedure=True,
        ),
        ctx=ctx,
        reason="Unscheduled PK time point (demo)",
    )


def _ingest(scan: Scan, dose: TracerDose, user: Any, rng: random.Random) -> None:
    participant = scan.participant
    hours = float(scan.planned_hours_post_injection or 24.0) + rng.uniform(-2, 2)
    injection_wall = imaging_demo._dose_wall(dose, participant.site.time_zone)
    ctx = AuditContext.system(source=AuditSource.IMPORT, user=user)
    with temp_upload_dir() as tmp:
        spec = _spec(
            hours,
            scan.phase == "on_treatment",
            float(participant.weight_kg),
            float(dose.net_injected_mbq),
            rng,
            imaging_demo._tumour_factors(participant.pk),
        )
        info = write_phantom(str(tmp / "series"), spec)
        imaging_demo._shift_times(info.files, injection_wall - (SCAN_START - dt.timedelta(hours=hours)))
        work = tmp / "work"
        work.mkdir()
        imaging_services.series_upload_ingest(
            ctx=ctx, scan=scan, files=[(Path(f), Path(f).name) for f in info.files], work_dir=work
        )
    imaging_demo._add_vois(ctx, scan, rng)


def _serum_kbq_ml(
    hours: float, on_treatment: bool, factors: tuple[float, float], dose_mbq: float, weight: float
) -> float:
    """Serum kBq/mL decay-corrected to injection: the blood-pool course (SUV -> kBq/mL) plus a fast phase."""

    def slow(t: float) -> float:
        value = _level("blood_pool", t, on_treatment, factors)
        return value / EARLY_BLOOD_FACTOR if t < 48.0 else value

    fast = SERUM_FAST_FRACTION * slow(0.0) * math.exp(-math.log(2.0) / SERUM_FAST_HALF_LIFE_H * hours)
    return (slow(hours) + fast) * dose_mbq / weight


def _add_serum(ctx: AuditContext, dose: TracerDose, rng: random.Random) -> None:
    """PK samples through the casebook service; gross counts chosen so the counter gives the curve."""
    from casebook import services as casebook_services
    from casebook.models import PkSample

    if PkSample.objects.filter(tracer_dose=dose, voided=False).exists():
        return
    participant = dose.participant
    factors = imaging_demo._tumour_factors(participant.pk)
    on_treatment = dose.visit.code.startswith("OT_")
    volume_ml, efficiency, count_time_s, background = 1.0, 0.45, 300.0, 150
    for hours in SERUM_HOURS:
        sampled = dose.administered_at + dt.timedelta(
            hours=hours + rng.uniform(-0.02, 0.02) * min(hours, 1.0)
        )
        counted = sampled + dt.timedelta(hours=2)
        if counted >= timezone.now():
            continue
        kbq = _serum_kbq_ml(
            hours, on_treatment, factors, float(dose.net_injected_mbq), float(participant.weight_kg)
        )
        kbq *= rng.uniform(0.97, 1.03)
        decay = math.exp(-math.log(2.0) * (counted - dose.administered_at).total_seconds() / 3600.0 / 78.41)
        gross = round(kbq * 1000.0 * decay * volume_ml * efficiency * count_time_s) + background
        casebook_services.record_create(
            ctx=ctx,
            model=PkSample,
            participant=participant,
            data={
                "tracer_dose": dose,
                "nominal_timepoint": f"{hours * 60:.0f} min" if hours < 2 else f"{hours:.0f} h",
                "sampled_at": sampled,
                "counted_at": counted,
                "sample_volume_ml": Decimal("1.000"),
                "gross_counts": gross,
                "background_counts": background,
                "count_time_s": Decimal("300.00"),
                "counter_efficiency": Decimal("0.45000"),
                "calibration_factor": Decimal("1.00000"),
            },
        )


def build_demo(participants: list[Any], users: dict[str, Any], rng: random.Random) -> None:
    """Two extra PET time points per injection for the first demo participants with PET."""
    chosen = [
        p for p in imaging_demo._candidates(participants) if p.scans.filter(uploads__isnull=False).exists()
    ]
    for participant in chosen[:DEMO_PK_PARTICIPANTS]:
        user = users.get(f"radiologist_{participant.site.code}")
        coordinator = users.get(f"coordinator_{participant.site.code}")
        if user is None or coordinator is None:
            continue
        ctx = AuditContext(user=coordinator, source=AuditSource.IMPORT, request_id="demo-load")
        for code in TRACERS:
            dose = TracerDose.objects.filter(participant=participant, visit__code=code, voided=False).first()
            if dose is None:
                continue
            _add_serum(ctx, dose, rng)
            for days in EXTRA_DAYS:
                with transaction.atomic():
                    visit = _extra_visit(ctx, dose, days)
                if visit is None:
                    continue
                imaging_services.scans_ensure_for_participant(participant)
                scan = Scan.objects.filter(visit=visit, modality=Modality.PET).first()
                if scan is None or scan.uploads.exists():
                    continue
                _ingest(scan, dose, user, rng)
        # the PK parameters SDTM PP and the sponsor API export (with a broker, VOI results still being computed
        # are picked up by a later `manage.py pk_parameters`)
        kinetics_services.pk_parameters_refresh(
            ctx=AuditContext(user=user, source=AuditSource.IMPORT, request_id="demo-load"),
            participant=participant,
        )
