"""Pathology entry: biopsy before its lesion is registered, typed PD-L1 kept beside the computed value,
messages without internal field names, and inter-pathologist agreement on the analyses page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from pathology import services
from pathology.models import Biopsy
from tests import factories
from tests.pathology.builders import make_lesion, make_score
from trial.audit import history_for
from trial.models import Role

pytestmark = pytest.mark.django_db


def test_biopsy_before_its_lesion_typed_pdl1_kept_labels_and_agreement(
    client_for, pathologist, participant, site_nl
):
    ctx = factories.ctx_for(pathologist)
    day = timezone.localdate() - dt.timedelta(days=10)
    # 1. A biopsy recorded before its lesion is registered: organ now, lesion linked later (audited).
    biopsy = services.biopsy_record(
        ctx=ctx,
        participant=participant,
        period="baseline",
        biopsy_date=day,
        lesion=None,
        organ="Liver",
        sample_id="PA-EARLY-1",
        core_count=2,
        tumour_cells_present=True,
    )
    assert biopsy.lesion is None and biopsy.organ == "Liver"
    client = client_for(pathologist)
    page = client.get(f"/pathology/biopsies/{biopsy.pk}/").content.decode()
    assert "not linked yet" in page
    lesion = make_lesion(pathologist, participant)
    services.biopsy_update(
        ctx=ctx, biopsy=biopsy, data={"lesion": lesion}, reason="Lesion registered", expected_version=1
    )
    biopsy.refresh_from_db()
    assert biopsy.lesion == lesion
    link = history_for(biopsy).last()
    assert (link.action, link.changes["lesion_id"], link.reason) == (
        "update",
        [None, lesion.pk],
        "Lesion registered",
    )

    # 2. A typed TPS of 52 with counts giving 52.08: both kept, shown side by side; 60 typed is flagged.
    counts = {
        "pdl1_pos_tumour_cells": 125,
        "pdl1_pos_lymphocytes": 10,
        "pdl1_pos_macrophages": 5,
        "viable_tumour_cells": 240,
    }
    score = make_score(pathologist, biopsy, "PD-L1", tps=Decimal("52"), **counts)
    # 125 / 240 x 100 = 52.083 -> 52.08; (125 + 10 + 5) / 240 x 100 = 58.33.
    assert (score.tps, score.tps_entered, score.cps, score.pdl1_discrepancy) == (
        Decimal("52.08"),
        Decimal("52.00"),
        Decimal("58.33"),
        False,
    )
    shown = dict(score.value_items())["Tumour proportion score"]
    assert shown == "52.08 % (computed from the counts; typed 52)"
    second = factories.make_user("peter", (site_nl, Role.PATHOLOGIST))
    flagged = make_score(second, biopsy, "PD-L1", tps=Decimal("60"), **counts)
    assert (
        flagged.pdl1_discrepancy
        and flagged.tps_entered == Decimal("60.00")
        and flagged.tps == Decimal("52.08")
    )
    page = client.get(f"/pathology/biopsies/{biopsy.pk}/").content.decode()
    assert "typed PD-L1 value differs from the counts" in page

    # 3. Scoring a marker twice: the message names no internal field.
    again = client.post(
        f"/pathology/biopsies/{biopsy.pk}/scores/new/?marker=PD-L1",
        {
            "marker": "PD-L1",
            "score_date": day.isoformat(),
            "antibody_clone": "22C3",
            "scoring_method": "manual",
            "tps": "50",
        },
    ).content.decode()
    assert "You have already scored PD-L1" in again and "marker:" not in again

    # 4. Agreement per marker on the analyses page (CD8 densities on three biopsies by both pathologists).
    for i, (d1, d2) in enumerate(((100, 110), (200, 190), (300, 330))):
        b = services.biopsy_record(
            ctx=ctx,
            participant=participant,
            period="baseline",
            biopsy_date=day,
            lesion=lesion,
            sample_id=f"PA-AG-{i}",
            core_count=2,
            tumour_cells_present=True,
        )
        make_score(pathologist, b, "CD8", density_intratumoural=d1)
        make_score(second, b, "CD8", density_intratumoural=d2)
    html = client.get("/pathology/analyses/").content.decode()
    assert "Agreement between the two pathologists" in html
    # Bland-Altman: differences 10, -10, 30 -> bias 10.00, SD 20 -> limits -29.20 to 49.20.
    assert "10.00 (-29.20 to 49.20)" in html
    assert Biopsy.objects.filter(lesion__isnull=True).count() == 0
