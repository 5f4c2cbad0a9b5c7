"""Demo casebook for `load_demo`: medications, medical and cancer history, a prior therapy line, vital signs
before and after each tracer infusion, weight per tracer visit, ECOG, laboratory panels (one grade 2 ALT without
a matching AE, which raises its automatic query), ADA samples, PK samples where the kinetics demo left none, end of
study for finished participants and screen failures per site.

Everything goes through casebook.services (audited, source "import"). Idempotent: a participant with any
medication, and a site with any screening-log entry, is skipped.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from casebook import services
from casebook.models import (
    AdaSample,
    BodyMeasurement,
    CancerHistory,
    Disposition,
    EcogAssessment,
    LabResult,
    MedicalHistory,
    Medication,
    PkSample,
    PriorTherapyLine,
    ScreeningLogEntry,
    VitalSigns,
)
from trial.audit import AuditContext
from trial.models import AuditSource, Participant, ParticipantStatus, Site, Visit

MEDICATIONS = [
    ("Paracetamol", "Pain", Decimal("1000"), "mg", "oral", "as needed"),
    ("Levothyroxine", "Hypothyroidism", Decimal("50"), "ug", "oral", "once daily"),
    ("Omeprazole", "Dyspepsia", Decimal("20"), "mg", "oral", "once daily"),
    ("Amlodipine", "Hypertension", Decimal("5"), "mg", "oral", "once daily"),
    ("Macrogol", "Constipation", Decimal("13.8"), "g", "oral", "once daily"),
]
HISTORY = [
    ("Hypertension", False),
    ("Type 2 diabetes mellitus", False),
    ("Hypothyroidism", False),
    ("Psoriasis (inactive, no systemic treatment)", True),
    ("Gastro-oesophageal reflux disease", False),
]
SITES_OF_DISEASE = ["lung, lymph nodes", "liver, bone", "lymph nodes, skin", "lung, adrenal", "liver"]
REGIMENS = ["Carboplatin + pemetrexed", "Dabrafenib + trametinib", "Sunitinib", "Cisplatin + gemcitabine"]
# (panel, test, unit, lln, uln, normal low, normal high)
LABS = [
    ("haematology", "HGB", "g/dL", "12.0", "16.0", 12.5, 15.5),
    ("haematology", "NEUT", "10^9/L", "1.8", "7.5", 2.2, 6.5),
    ("haematology", "PLAT", "10^9/L", "150", "400", 170, 380),
    ("chemistry", "ALT", "U/L", "0", "40", 12, 35),
    ("chemistry", "CREAT", "umol/L", "60", "110", 65, 100),
]


def _ctx(user: Any) -> AuditContext:
    return AuditContext(user=user, source=AuditSource.IMPORT, request_id="demo-load")


def _create(ctx: AuditContext, model: type, participant: Participant, **data: Any) -> Any:
    return services.record_create(ctx=ctx, model=model, participant=participant, data=data)


def _visit(participant: Participant, code: str) -> Visit | None:
    return participant.visits.filter(code=code, status="done", voided=False).first()


def _history(ctx: AuditContext, p: Participant, i: int, rng: random.Random, screen: dt.date) -> None:
    for name, indication, dose, unit, route, freq in rng.sample(MEDICATIONS, 2):
        _create(
            ctx,
            Medication,
            p,
            category="concomitant",
            name=name,
            indication=indication,
            dose=dose,
            dose_unit=unit,
            route=route,
            frequency=freq,
            start_date=screen - dt.timedelta(days=rng.randint(100, 900)),
            end_date=None,
            ongoing=True,
            is_systemic_steroid=False,
        )
    if i % 4 == 0:
        _create(
            ctx,
            Medication,
            p,
            category="prior",
            name="Prednisolone",
            indication="Radiation pneumonitis",
            dose=Decimal("10"),
            dose_unit="mg",
            route="oral",
            frequency="once daily",
            start_date=screen - dt.timedelta(days=120),
            end_date=screen - dt.timedelta(days=60),
            ongoing=False,
            is_systemic_steroid=True,
        )
    term, autoimmune = HISTORY[i % len(HISTORY)]
    _create(
        ctx,
        MedicalHistory,
        p,
        term=term,
        start_date=screen - dt.timedelta(days=rng.randint(400, 3000)),
        end_date=None,
        ongoing=True,
        autoimmune=autoimmune,
    )
    _create(
        ctx,
        CancerHistory,
        p,
        histology=p.tumour_type,
        diagnosis_date=screen - dt.timedelta(days=rng.randint(200, 700)),
        stage="IV",
        sites_of_disease=SITES_OF_DISEASE[i % len(SITES_OF_DISEASE)],
        pdl1_status=["positive", "negative", "unknown"][i % 3],
        pdl1_score=["TPS 60%", "TPS 0%", ""][i % 3],
    )
    _create(
        ctx,
        PriorTherapyLine,
        p,
        line_number=1,
        regimen=REGIMENS[i % len(REGIMENS)],
        start_date=screen - dt.timedelta(days=190),
        end_date=screen - dt.timedelta(days=40),
        best_response=["PR", "SD", "PD", "NE"][i % 4],
    )


def _labs(
    ctx: AuditContext, p: Participant, visit: Visit, rng: random.Random, baseline: bool, alt_x_uln: float = 0
) -> None:
    day = visit.actual_date
    for panel, test, unit, lln, uln, low, high in LABS:
        value = rng.uniform(low, high)
        if test == "ALT" and alt_x_uln:
            value = float(uln) * alt_x_uln
        _create(
            ctx,
            LabResult,
            p,
            visit=visit,
            panel=panel,
            collected_on=day,
            test_code=test,
            value=Decimal(f"{value:.1f}"),
            unit=unit,
            lln=Decimal(lln),
            uln=Decimal(uln),
            is_baseline=baseline,
        )


def _infusions(ctx: AuditContext, p: Participant, rng: random.Random, with_pk: bool) -> None:
    for dose in p.tracer_doses.filter(voided=False).select_related("visit"):
        for timepoint, minutes in (("pre_infusion", -20), ("post_infusion", 30)):
            _create(
                ctx,
                VitalSigns,
                p,
                visit=dose.visit,
                tracer_dose=dose,
                timepoint=timepoint,
                measured_at=dose.administered_at + dt.timedelta(minutes=minutes),
                systolic_mmhg=rng.randint(112, 138),
                diastolic_mmhg=rng.randint(68, 86),
                pulse_bpm=rng.randint(60, 84),
                temperature_c=Decimal(f"{rng.uniform(36.4, 37.2):.1f}"),
                respiratory_rate=rng.randint(12, 18),
                spo2_pct=rng.randint(95, 99),
            )
        _create(
            ctx,
            BodyMeasurement,
            p,
            visit=dose.visit,
            measured_on=dose.visit.actual_date,
            weight_kg=Decimal(f"{float(p.weight_kg) + rng.uniform(-1.5, 0.5):.1f}"),
            height_cm=p.height_cm,
        )
        if with_pk and not PkSample.objects.filter(tracer_dose=dose, voided=False).exists():
            for minutes, counts in ((5, 182_000), (30, 171_000), (60, 160_000)):
                sampled = dose.administered_at + dt.timedelta(minutes=minutes)
                _create(
                    ctx,
                    PkSample,
                    p,
                    tracer_dose=dose,
                    nominal_timepoint=f"{minutes} min",
                    sampled_at=sampled,
                    counted_at=sampled + dt.timedelta(hours=2),
                    sample_volume_ml=Decimal("1.000"),
                    gross_counts=counts,
                    background_counts=600,
                    count_time_s=Decimal("60"),
                    counter_efficiency=Decimal("0.45000"),
                    calibration_factor=Decimal("1"),
                )


def _samples(ctx: AuditContext, p: Participant, i: int) -> None:
    for code, result in (("BL_TRACER", "negative"), ("OT_TRACER", "positive" if i % 6 == 1 else "negative")):
        visit = _visit(p, code)
        if visit is None:
            continue
        _create(
            ctx,
            AdaSample,
            p,
            visit=visit,
            collected_on=visit.actual_date,
            sample_id=f"ADA-{p.study_id}-{code[:2]}",
            result=result,
            titre=80 if result == "positive" else None,
        )


def _disposition(ctx: AuditContext, p: Participant) -> None:
    status = {ParticipantStatus.COMPLETED: "completed", ParticipantStatus.WITHDRAWN: "withdrew_consent"}
    if p.status not in status:
        return
    change = p.status_history.filter(to_status=p.status).order_by("-date").first()
    end = change.date if change else timezone.localdate()
    _create(
        ctx,
        Disposition,
        p,
        status=status[p.status],
        end_date=end,
        last_contact_date=end,
        details="Demo: "
        + ("safety follow-up completed." if p.status == "completed" else "consent withdrawn."),
    )


def _participant(p: Participant, user: Any, i: int, rng: random.Random) -> None:
    ctx = _ctx(user)
    screen = _visit(p, "SCREEN")
    if screen is None:
        return
    _history(ctx, p, i, rng, screen.actual_date)
    _create(ctx, EcogAssessment, p, visit=screen, assessed_on=screen.actual_date, score=0 if i % 3 else 1)
    _labs(ctx, p, screen, rng, baseline=True)
    _infusions(ctx, p, rng, with_pk=i < 3)
    _samples(ctx, p, i)
    treated = _visit(p, "OT_TRACER")
    if treated is not None and i == 1:
        # ALT at 4 x ULN: CTCAE v5.0 grade 2 (">3.0 - 5.0 x ULN if baseline was normal"), no matching AE.
        _labs(ctx, p, treated, rng, baseline=False, alt_x_uln=4.0)
    _disposition(ctx, p)


def _screening_log(site: Site, user: Any, rng: random.Random) -> None:
    if ScreeningLogEntry.objects.filter(site=site).exists():
        return
    today = timezone.localdate()
    for n, (criteria, other) in enumerate(
        ((["I4"], ""), (["E2", "E3"], ""), (["I3"], "No lesion accessible for biopsy"), (["I5"], ""))[
            : 2 + rng.randint(0, 2)
        ]
    ):
        services.screen_failure_record(
            ctx=_ctx(user),
            site=site,
            screened_on=today - dt.timedelta(days=30 + 70 * n + rng.randint(0, 20)),
            age_band=rng.choice(["40-49", "50-59", "60-69", "70-79"]),
            failed_criteria=criteria,
            other_reason=other,
        )


def build_demo(participants: list[Any], users: dict[str, Any], rng: random.Random) -> None:
    """Add the casebook of every participant with a screening visit (skips those that already have one)."""
    done = set(Medication.objects.values_list("participant_id", flat=True))
    per_site: dict[str, int] = {}
    for p in participants:
        i = per_site[p.site.code] = per_site.get(p.site.code, -1) + 1
        user = users.get(f"coordinator_{p.site.code}")
        if user is None or p.pk in done:
            continue
        with transaction.atomic():
            _participant(p, user, i, rng)
    for site in Site.objects.filter(code__in=per_site):
        user = users.get(f"coordinator_{site.code}")
        if user is not None:
            with transaction.atomic():
                _screening_log(site, user, rng)
