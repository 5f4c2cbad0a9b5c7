"""Demo biopsies and IHC scores for the demo trial, entered through the pathology services (source "import").

Biopsies are taken of each participant's first target lesion at the protocol biopsy visits that took place.
CD8 density follows the lesion's matched PET SUVmax where the imaging demo provided one (so the analyses show
a plausible positive relation), with log-normal scatter; about one biopsy in twelve has no tumour cells; every
third NL01 biopsy gets a second CD8 scorer. Idempotent: a participant's period with a live biopsy is skipped.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldError
from django.db.models import Q
from django.utils import timezone

from lesions.models import Lesion
from pathology import linked, services
from pathology.markers import load_markers
from pathology.models import Biopsy, BiopsyPeriod, MarkerDefinition
from trial.audit import AuditContext
from trial.models import AuditSource, Membership, Role

PERIOD_VISITS = ((BiopsyPeriod.BASELINE, "BL_BIOPSY", "BL"), (BiopsyPeriod.ON_TREATMENT, "OT_BIOPSY", "OT"))


def _second_pathologist(users: dict[str, Any]) -> Any | None:
    """A second NL01 pathologist for double scoring (demo login pathologist2_nl01)."""
    first = users.get("pathologist_NL01")
    if first is None:
        return None
    site = Membership.objects.filter(user=first, role=Role.PATHOLOGIST).first().site
    user, created = get_user_model().objects.get_or_create(
        username="pathologist2_nl01",
        defaults={
            "first_name": "Pieter",
            "last_name": "NL01 demo",
            "email": "pathologist2_nl01@demo.example",
        },
    )
    if created:
        from trial.demo import DEMO_PASSWORD

        user.set_password(DEMO_PASSWORD)
        user.save()
    Membership.objects.get_or_create(user=user, site=site, role=Role.PATHOLOGIST)
    return user


def _lesion(participant: Any) -> Lesion | None:
    """The lesion to biopsy: an imaged target lesion (PET VOI, then MRI ROI), else a non-nodal target, else any."""
    qs = Lesion.objects.filter(participant=participant, voided=False).order_by("label")
    choices = [
        Q(role="target", pet_vois__voided=False),
        Q(role="target", mri_rois__voided=False),
        Q(role="target", nodal=False),
        Q(role="target"),
        Q(),
    ]
    for condition in choices:
        try:
            lesion = qs.filter(condition).distinct().first()
        except FieldError:  # the imaging or MRI link is not installed
            continue
        if lesion is not None:
            return lesion
    return None


def _suv_max(biopsy: Biopsy) -> float | None:
    scans = linked.pet_scans([biopsy.participant_id]).get(biopsy.participant_id, [])
    match = linked.matched_scan(biopsy, scans)
    if match is None:
        return None
    for voi in linked.lesion_vois([biopsy.lesion_id], [match[0].pk]):
        result = linked.voi_result(voi)
        if result is not None:
            return float(result.suv_max)
    return None


def _d(x: float) -> Decimal:
    return Decimal(str(round(x, 1)))


def cd8_values(rng: random.Random, suv: float | None, on_treatment: bool, tumour: bool) -> dict[str, Any]:
    """Plausible CD8 values; intratumoural density rises with SUVmax."""
    log_density = (
        math.log(250) + rng.gauss(0, 0.7)
        if suv is None
        else (math.log(150) + 1.3 * math.log(max(suv, 0.3) / 3.0) + rng.gauss(0, 0.35))
    )
    if on_treatment:
        log_density += rng.gauss(0.4, 0.35)
    density = min(6000.0, math.exp(log_density))
    stromal = density * math.exp(rng.gauss(0.3, 0.5))
    if not tumour:
        return {"density_stromal": _d(stromal)}
    phenotype = "inflamed" if density > 350 else "excluded" if stromal > 2 * density else "desert"
    semi = 0 if density < 80 else 1 if density < 250 else 2 if density < 700 else 3
    percent = max(0.0, min(100.0, density / 30.0 + rng.gauss(0, 1.5)))
    return {
        "density_intratumoural": _d(density),
        "density_stromal": _d(stromal),
        "percent_positive": _d(percent),
        "semi_quant": semi,
        "immune_phenotype": phenotype,
    }


def pdl1_values(rng: random.Random) -> dict[str, Any]:
    """TPS/CPS entered directly, or computed from counts (at least 100 viable tumour cells)."""
    tps = max(0.0, min(100.0, rng.choice([0.0, 1.0, 5.0, 20.0, 50.0, 80.0]) + rng.uniform(0, 8)))
    if rng.random() < 0.5:
        return {"tps": _d(tps), "cps": _d(min(100.0, tps * rng.uniform(1.1, 1.8) + rng.uniform(0, 5)))}
    viable = rng.randint(150, 900)
    return {
        "pdl1_pos_tumour_cells": round(viable * tps / 100),
        "pdl1_pos_lymphocytes": rng.randint(0, viable // 5),
        "pdl1_pos_macrophages": rng.randint(0, viable // 10),
        "viable_tumour_cells": viable,
    }


def _score(ctx: AuditContext, biopsy: Biopsy, code: str, values: dict[str, Any], day: dt.date) -> None:
    marker = MarkerDefinition.objects.get(code=code)
    services.ihc_score_record(
        ctx=ctx,
        biopsy=biopsy,
        marker=marker,
        score_date=day,
        antibody_clone=marker.default_clone,
        scoring_method="manual",
        values=values,
    )


def _biopsy_scores(
    ctx: AuditContext, second: AuditContext | None, biopsy: Biopsy, rng: random.Random
) -> None:
    day = min(timezone.localdate(), biopsy.biopsy_date + dt.timedelta(days=rng.randint(3, 12)))
    on_treatment = biopsy.period == BiopsyPeriod.ON_TREATMENT
    cd8 = cd8_values(rng, _suv_max(biopsy), on_treatment, biopsy.tumour_cells_present)
    _score(ctx, biopsy, "CD8", cd8, day)
    if second is not None:
        jittered = {
            k: (_d(float(v) * math.exp(rng.gauss(0, 0.12))) if isinstance(v, Decimal) else v)
            for k, v in cd8.items()
        }
        jittered["percent_positive"] = min(Decimal("100.0"), jittered.get("percent_positive", Decimal("0")))
        if "density_intratumoural" not in cd8:
            jittered.pop("percent_positive")
        _score(second, biopsy, "CD8", jittered, day)
    if biopsy.tumour_cells_present:
        _score(ctx, biopsy, "PD-L1", pdl1_values(rng), day)
    if not on_treatment:
        _score(ctx, biopsy, "CD3", {"value": _d(float(cd8["density_stromal"]) * rng.uniform(1.5, 3.0))}, day)
        _score(ctx, biopsy, "CD68", {"value": _d(rng.lognormvariate(math.log(300), 0.5))}, day)


def build_demo(participants: list[Any], users: dict[str, Any], rng: random.Random) -> None:
    load_markers()
    second_user = _second_pathologist(users)
    count = 0
    for p in participants:
        pathologist = users.get(f"pathologist_{p.site.code}")
        lesion = _lesion(p)
        if pathologist is None or lesion is None:
            continue
        ctx = AuditContext(user=pathologist, source=AuditSource.IMPORT)
        for period, code, short in PERIOD_VISITS:
            visit = p.visits.filter(code=code, voided=False, actual_date__isnull=False).first()
            if visit is None or p.biopsies.filter(period=period, voided=False).exists():
                continue
            biopsy = services.biopsy_record(
                ctx=ctx,
                participant=p,
                period=period,
                biopsy_date=visit.actual_date,
                lesion=lesion,
                sample_id=f"{p.study_id}-{short}",
                core_count=rng.randint(2, 4),
                tumour_cells_present=rng.random() > 0.08,
                adequacy_comment="" if rng.random() > 0.2 else "Crush artefact in one core.",
            )
            count += 1
            double = second_user is not None and p.site.code == "NL01" and count % 3 == 0
            second = AuditContext(user=second_user, source=AuditSource.IMPORT) if double else None
            _biopsy_scores(ctx, second, biopsy, rng)
