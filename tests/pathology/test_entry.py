"""Biopsy and IHC score entry through the services, pages and API: validation, audit, second scorer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from pathology import services
from pathology.models import IhcScore, MarkerDefinition
from tests import factories
from tests.pathology.builders import make_biopsy, make_lesion, make_score, marker
from trial.models import AuditEntry, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_pathologist(site_nl):
    return factories.make_user("peter", (site_nl, Role.PATHOLOGIST))


def test_the_six_seeded_markers_are_there_with_types_and_ranges():
    codes = list(MarkerDefinition.objects.values_list("code", flat=True))
    assert codes == ["CD8", "PD-L1", "CD3", "CD4", "FOXP3", "CD68"]
    pdl1 = marker("PD-L1")
    assert (pdl1.value_type, pdl1.min_value, pdl1.max_value) == ("percent", Decimal("0"), Decimal("100"))
    assert marker("CD8").allowed_categories == ["inflamed", "excluded", "desert"]


def test_a_biopsy_links_the_protocol_visit_and_the_lesion_and_is_audited(pathologist, participant):
    biopsy = make_biopsy(pathologist, participant, period="baseline")
    assert biopsy.visit.code == "BL_BIOPSY"
    assert biopsy.organ == "Liver"
    entry = AuditEntry.objects.get(model="biopsy", object_id=str(biopsy.pk))
    assert entry.action == "create" and entry.participant_id == participant.pk


def test_a_biopsy_refuses_another_participants_lesion_and_zero_cores(
    pathologist, coordinator, site_nl, participant
):
    other = factories.enrol(coordinator, site_nl)
    foreign = make_lesion(pathologist, other, "T9")
    with pytest.raises(ValidationError) as exc:
        make_biopsy(pathologist, participant, lesion=foreign)
    assert "belongs to another participant" in str(exc.value)
    with pytest.raises(ValidationError, match="at least one core"):
        services.biopsy_record(
            ctx=factories.ctx_for(pathologist),
            participant=participant,
            period="baseline",
            biopsy_date=dt.date(2026, 1, 5),
            lesion=make_lesion(pathologist, participant),
            sample_id="X-1",
            core_count=0,
            tumour_cells_present=True,
        )


def test_only_pathologists_enter_scores(coordinator, pathologist, participant):
    biopsy = make_biopsy(pathologist, participant)
    with pytest.raises(PermissionDenied):
        make_score(coordinator, biopsy)


def test_out_of_range_values_are_refused_with_the_field_named(pathologist, participant):
    biopsy = make_biopsy(pathologist, participant)
    with pytest.raises(ValidationError) as exc:
        make_score(pathologist, biopsy, "CD8", percent_positive=Decimal("104"), density_stromal=Decimal("-2"))
    errors = exc.value.message_dict
    assert errors["percent_positive"] == [
        "Percentage of positive cells must be at most 100%; 104 was entered."
    ]
    assert "at least 0" in errors["density_stromal"][0]
    assert IhcScore.objects.count() == 0


def test_pdl1_cps_from_counts_is_stored_capped(pathologist, participant):
    biopsy = make_biopsy(pathologist, participant)
    score = make_score(
        pathologist,
        biopsy,
        "PD-L1",
        pdl1_pos_tumour_cells=150,
        pdl1_pos_lymphocytes=60,
        pdl1_pos_macrophages=20,
        viable_tumour_cells=200,
    )
    score.refresh_from_db()
    assert score.cps == Decimal("100.00") and score.tps == Decimal("75.00")


def test_a_second_scorer_is_kept_beside_the_first_and_never_overwrites_it(
    pathologist, second_pathologist, participant
):
    biopsy = make_biopsy(pathologist, participant)
    first = make_score(pathologist, biopsy, "CD8", density_intratumoural=Decimal("300"))
    second = make_score(second_pathologist, biopsy, "CD8", density_intratumoural=Decimal("340"))
    first.refresh_from_db()
    assert (first.scorer_number, first.density_intratumoural) == (1, Decimal("300.00"))
    assert (second.scorer_number, second.density_intratumoural) == (2, Decimal("340.00"))
    with pytest.raises(ValidationError, match="already scored"):
        make_score(pathologist, biopsy, "CD8", density_intratumoural=Decimal("310"))
    third = factories.make_user("pia", (participant.site, Role.PATHOLOGIST))
    with pytest.raises(ValidationError, match="already has two scorers"):
        make_score(third, biopsy, "CD8", density_intratumoural=Decimal("310"))
    with pytest.raises(ValidationError, match="Only the pathologist who entered"):
        services.ihc_score_update(
            ctx=factories.ctx_for(second_pathologist),
            score=first,
            values={"density_intratumoural": 1},
            reason="mine",
        )


def test_a_correction_needs_a_reason_and_is_audited_with_old_and_new(pathologist, participant):
    score = make_score(
        pathologist, make_biopsy(pathologist, participant), "CD8", density_intratumoural=Decimal("300")
    )
    ctx = factories.ctx_for(pathologist)
    with pytest.raises(ValidationError, match="reason"):
        services.ihc_score_update(
            ctx=ctx, score=score, values={"density_intratumoural": Decimal("320")}, reason=""
        )
    changes = services.ihc_score_update(
        ctx=ctx, score=score, values={"density_intratumoural": Decimal("320")}, reason="recounted hot spot"
    )
    assert changes == {"density_intratumoural": ["300.00", "320.00"]}
    entry = AuditEntry.objects.filter(model="ihcscore", action="update").get()
    assert entry.reason == "recounted hot spot"


def test_tps_on_a_biopsy_without_tumour_cells_is_refused(pathologist, participant):
    biopsy = make_biopsy(pathologist, participant, tumour=False)
    with pytest.raises(ValidationError, match="needs tumour cells"):
        make_score(pathologist, biopsy, "PD-L1", tps=Decimal("5"))


def test_the_entry_page_shows_errors_with_400_and_saves_a_valid_score(client_for, pathologist, participant):
    biopsy = make_biopsy(pathologist, participant)
    client = client_for(pathologist)
    url = f"/pathology/biopsies/{biopsy.pk}/scores/new/?marker=PD-L1"
    page = client.get(url)
    assert page.status_code == 200 and "PD-L1 tumour proportion score" in page.content.decode()
    assert "Intratumoural" not in page.content.decode()
    base = {
        "marker": "PD-L1",
        "score_date": biopsy.biopsy_date.isoformat(),
        "antibody_clone": "22C3",
        "scoring_method": "manual",
    }
    bad = client.post(url, {**base, "tps": "130"})
    assert bad.status_code == 400
    assert "Tumour proportion score must be at most 100%; 130 was entered." in bad.content.decode()
    good = client.post(url, {**base, "tps": "35", "cps": "42"})
    assert good.status_code == 302
    assert IhcScore.objects.get().tps == Decimal("35.00")
    detail = client.get(f"/pathology/biopsies/{biopsy.pk}/").content.decode()
    assert "35.00 %" in detail and "Matching rule" in detail


def test_the_biopsy_page_and_list_render_for_a_monitor(client_for, monitor, pathologist, participant):
    biopsy = make_biopsy(pathologist, participant)
    make_score(pathologist, biopsy)
    client = client_for(monitor)
    assert biopsy.sample_id in client.get("/pathology/").content.decode()
    page = client.get(f"/pathology/biopsies/{biopsy.pk}/").content.decode()
    assert "250.00 cells/mm²" in page and "Enter a score" not in page
    participant_page = client.get(f"/participants/{participant.pk}/").content.decode()
    assert "Biopsies and IHC" in participant_page and biopsy.sample_id in participant_page


def test_a_pathologist_records_a_biopsy_on_the_page(client_for, pathologist, participant):
    lesion = make_lesion(pathologist, participant, "T2", "Lung")
    client = client_for(pathologist)
    url = f"/pathology/participants/{participant.pk}/biopsies/new/"
    data = {
        "period": "baseline",
        "biopsy_date": "2026-01-02",
        "lesion": lesion.pk,
        "sample_id": "PA-26-001",
        "core_count": "0",
        "tumour_cells_present": "yes",
    }
    assert client.post(url, data).status_code == 400
    response = client.post(url, {**data, "core_count": "2"})
    assert response.status_code == 302
    assert participant.biopsies.get().organ == "Lung"


def test_the_api_creates_scores_with_the_same_validation(client_for, pathologist, monitor, participant):
    biopsy = make_biopsy(pathologist, participant)
    client = client_for(pathologist)
    body = {
        "biopsy": biopsy.pk,
        "marker": "CD8",
        "score_date": biopsy.biopsy_date.isoformat(),
        "antibody_clone": "C8/144B",
        "scoring_method": "digital",
        "percent_positive": 140,
    }
    bad = client.post("/api/v1/ihc-scores/", body, content_type="application/json")
    assert bad.status_code == 400
    assert "at most 100%" in bad.json()["errors"]["percent_positive"][0]
    body["percent_positive"] = 14.5
    good = client.post("/api/v1/ihc-scores/", body, content_type="application/json")
    assert good.status_code == 201, good.content
    assert good.json()["percent_positive"] == "14.50" and good.json()["scorer_number"] == 1
    listing = client.get("/api/v1/ihc-scores/").json()["results"]  # a cursor page (issue 17)
    assert [row["marker"] for row in listing] == ["CD8"]
    assert client.get("/api/v1/biopsies/").json()["results"][0]["sample_id"] == biopsy.sample_id
    client_for(monitor)
    assert client.post("/api/v1/ihc-scores/", body, content_type="application/json").status_code == 403


def test_another_site_sees_404_and_read_only_roles_403_on_every_pathology_page(
    client, pathologist, participant, other_coordinator, monitor, sponsor
):
    from tests.pathology.isolation import KWARG_BUILDERS

    biopsy = make_biopsy(pathologist, participant)
    score = make_score(pathologist, biopsy)
    urls = [
        f"/pathology/participants/{participant.pk}/biopsies/new/",
        f"/pathology/biopsies/{biopsy.pk}/",
        f"/pathology/biopsies/{biopsy.pk}/edit/",
        f"/pathology/biopsies/{biopsy.pk}/scores/new/?marker=CD8",
        f"/pathology/scores/{score.pk}/edit/",
    ]
    assert set(KWARG_BUILDERS) == {"biopsy_pk", "score_pk"}
    client.force_login(other_coordinator)
    assert [(u, client.get(u).status_code, client.post(u).status_code) for u in urls] == [
        (u, 404, 405 if u.endswith(f"biopsies/{biopsy.pk}/") else 404) for u in urls
    ]
    assert client.get("/api/v1/biopsies/").json()["results"] == []
    assert client.get(f"/api/v1/ihc-scores/{score.pk}/").status_code == 404
    for reader in (monitor, sponsor):
        client.force_login(reader)
        statuses = {u: client.post(u, {"reason": "x"}).status_code for u in urls}
        assert statuses == {u: 405 if u.endswith(f"biopsies/{biopsy.pk}/") else 403 for u in urls}


def test_corrections_on_the_pages_need_a_reason_and_land_in_the_history(client_for, pathologist, participant):
    biopsy = make_biopsy(pathologist, participant)
    score = make_score(pathologist, biopsy, "CD8", density_intratumoural=Decimal("300"))
    client = client_for(pathologist)
    url = f"/pathology/scores/{score.pk}/edit/"
    form = {
        "score_date": biopsy.biopsy_date.isoformat(),
        "antibody_clone": "C8/144B",
        "scoring_method": "manual",
        "density_intratumoural": "330",
    }
    assert client.post(url, form).status_code == 400  # no reason
    assert client.post(url, {**form, "reason": "second hot spot counted"}).status_code == 302
    score.refresh_from_db()
    assert score.density_intratumoural == Decimal("330.00")
    assert "second hot spot counted" in client.get(url).content.decode()
    edit = f"/pathology/biopsies/{biopsy.pk}/edit/"
    data = {
        "period": "baseline",
        "biopsy_date": biopsy.biopsy_date.isoformat(),
        "lesion": biopsy.lesion_id,
        "organ": "Liver",
        "site_detail": "segment VI",
        "sample_id": biopsy.sample_id,
        "core_count": "4",
        "tumour_cells_present": "yes",
        "reason": "fourth core found in the block",
    }
    assert client.post(edit, data).status_code == 302
    biopsy.refresh_from_db()
    assert biopsy.core_count == 4
    entry = AuditEntry.objects.get(model="biopsy", action="update")
    assert (
        entry.changes == {"core_count": [3, 4], "version": [1, 2]}
        and entry.reason == "fourth core found in the block"
    )
