"""Test-data builders for pathology tests (through the services, real database)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from lesions.models import Lesion
from pathology import services
from pathology.models import Biopsy, IhcScore, MarkerDefinition
from tests import factories
from trial.audit import audited_create

_sample = itertools.count(1)


def make_lesion(user: Any, participant: Any, label: str = "T1", organ: str = "Liver") -> Lesion:
    existing = Lesion.objects.filter(participant=participant, label=label).first()
    if existing:
        return existing
    lesion = Lesion(participant=participant, label=label, organ=organ, location="segment VI", role="target")
    return audited_create(lesion, ctx=factories.ctx_for(user))


def make_biopsy(
    user: Any,
    participant: Any,
    *,
    lesion: Lesion | None = None,
    period: str = "baseline",
    date: dt.date | None = None,
    tumour: bool = True,
    sample_id: str = "",
) -> Biopsy:
    lesion = lesion or make_lesion(user, participant)
    return services.biopsy_record(
        ctx=factories.ctx_for(user),
        participant=participant,
        period=period,
        biopsy_date=date or timezone.localdate() - dt.timedelta(days=10),
        lesion=lesion,
        sample_id=sample_id or f"PA-{participant.pk}-{next(_sample):04d}",
        core_count=3,
        tumour_cells_present=tumour,
    )


def marker(code: str) -> MarkerDefinition:
    return MarkerDefinition.objects.get(code=code)


def make_score(user: Any, biopsy: Biopsy, code: str = "CD8", **values: Any) -> IhcScore:
    m = marker(code)
    return services.ihc_score_record(
        ctx=factories.ctx_for(user),
        biopsy=biopsy,
        marker=m,
        score_date=biopsy.biopsy_date,
        antibody_clone=m.default_clone,
        scoring_method="manual",
        values=values or {"density_intratumoural": 250},
    )
