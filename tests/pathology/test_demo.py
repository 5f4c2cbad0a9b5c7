"""pathology.demo.build_demo: biopsies of demo lesions with valid, audited scores; idempotent; plots fed."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from pathology.demo import build_demo
from pathology.models import Biopsy, IhcScore
from pathology.plots import PLOTS
from tests import factories
from tests.pathology import analysis_builders as ab
from tests.pathology.builders import make_lesion
from trial.models import AuditEntry, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_people(coordinator, pathologist, site_nl):
    today = timezone.localdate()
    people = []
    for i in range(ab.N):
        p = factories.enrol(coordinator, site_nl, enrolment_date=today - dt.timedelta(days=200))
        lesion = make_lesion(pathologist, p, "T1", "Lung")
        ab._imaging(p, i, lesion)
        for code in ("BL_BIOPSY", "OT_BIOPSY"):
            v = p.visits.get(code=code)
            Visit.objects.filter(pk=v.pk).update(actual_date=v.planned_date, status="done")
        people.append(p)
    factories.enrol(coordinator, site_nl)  # no lesion registered: no biopsy invented for it
    return people


def test_build_demo_adds_valid_scored_biopsies_once(demo_people, pathologist, monitor, client_for):
    users = {"pathologist_NL01": pathologist}
    build_demo(demo_people, users, random.Random(7))
    assert Biopsy.objects.count() == 2 * ab.N
    assert all(b.lesion.label == "T1" for b in Biopsy.objects.all())
    scores = IhcScore.objects.all()
    assert scores.filter(marker__code="CD8", scorer_number=1).count() == 2 * ab.N
    assert scores.filter(scorer_number=2).count() == (2 * ab.N) // 3
    assert scores.filter(marker__code="PD-L1").exists() and scores.filter(marker__code="CD3").exists()
    for s in scores.exclude(cps=None):
        assert 0 <= s.cps <= 100
    assert AuditEntry.objects.filter(model="ihcscore", source="import").count() == scores.count()
    build_demo(demo_people, users, random.Random(7))
    assert Biopsy.objects.count() == 2 * ab.N and IhcScore.objects.count() == scores.count()

    client = client_for(monitor)
    from tests.pathology.test_analyses import fetch_csv

    rows = fetch_csv(client, "suv_cd8")
    stats = PLOTS["suv_cd8"].stats(rows)
    suv_cd8 = [
        s for s in stats if s["panel"].startswith("SUVmax vs CD8 density") and s["period"] == "Baseline"
    ]
    baseline_rows = [r for r in rows if r["period"] == "baseline" and r["cd8_density_intratumoural"]]
    assert suv_cd8[0]["n"] == len(baseline_rows) >= 6
    assert suv_cd8[0]["result"].rho > 0.6  # demo CD8 density follows SUVmax
