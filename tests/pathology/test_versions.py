"""Biopsy and IHC score corrections name the version they read; a stale page is refused (409)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from pathology import services
from tests.factories import ctx_for
from tests.pathology.builders import make_biopsy, make_score

pytestmark = pytest.mark.django_db


def version_on(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def test_a_stale_biopsy_correction_is_refused_and_the_other_change_survives(
    client_for, pathologist, participant
):
    biopsy = make_biopsy(pathologist, participant)
    url = f"/pathology/biopsies/{biopsy.pk}/edit/"
    client = client_for(pathologist)
    version = version_on(client.get(url).content.decode())
    services.biopsy_update(
        ctx=ctx_for(pathologist), biopsy=biopsy, data={"core_count": 4}, reason="other tab"
    )
    form = {
        "period": "baseline",
        "biopsy_date": biopsy.biopsy_date.isoformat(),
        "lesion": biopsy.lesion_id,
        "organ": "Liver",
        "site_detail": "segment VI",
        "sample_id": biopsy.sample_id,
        "core_count": "3",
        "tumour_cells_present": "yes",
        "adequacy_comment": "adequate",
        "reason": "comment added",
    }
    r = client.post(url, {**form, "version": version})
    assert r.status_code == 409 and "3 → 4" in r.content.decode()
    biopsy.refresh_from_db()
    assert (biopsy.core_count, biopsy.adequacy_comment, biopsy.version) == (4, "", 2)


def test_a_stale_score_correction_is_refused(client_for, pathologist, participant):
    biopsy = make_biopsy(pathologist, participant)
    score = make_score(pathologist, biopsy, "CD8", density_intratumoural=Decimal("300"))
    url = f"/pathology/scores/{score.pk}/edit/"
    client = client_for(pathologist)
    version = version_on(client.get(url).content.decode())
    form = {
        "score_date": biopsy.biopsy_date.isoformat(),
        "antibody_clone": "C8/144B",
        "scoring_method": "manual",
        "reason": "recount",
    }
    assert client.post(url, {**form, "density_intratumoural": "310", "version": version}).status_code == 302
    r = client.post(url, {**form, "density_intratumoural": "330", "version": version})
    assert r.status_code == 409 and "300.00 → 310.00" in r.content.decode()
    score.refresh_from_db()
    assert (score.density_intratumoural, score.version) == (Decimal("310.00"), 2)


def test_detail_get_carries_the_version_as_an_etag(client_for, pathologist, participant):
    biopsy = make_biopsy(pathologist, participant)
    services.biopsy_update(ctx=ctx_for(pathologist), biopsy=biopsy, data={"core_count": 5}, reason="recount")
    r = client_for(pathologist).get(f"/api/v1/biopsies/{biopsy.pk}/")
    assert r.status_code == 200 and r["ETag"] == 'W/"2"'
