"""Every analysis plot built from a demo-like dataset: PNG produced, CSV numbers and statistics checked."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from pathology.plots import PLOTS
from pathology.stats import spearman
from tests import factories
from tests.module_data import rolled_back_after_module
from tests.pathology import analysis_builders as ab
from trial.models import Role
from trial.reference_data import ensure_loaded

pytestmark = pytest.mark.django_db
OUT = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def dataset(django_db_setup, django_db_blocker):
    """Built once for the module (the tests only read it): the people of tests/conftest.py, by the same names."""
    with rolled_back_after_module(django_db_blocker):
        ensure_loaded()
        site = factories.make_site("NL01", "Amsterdam UMC", "NL", "Europe/Amsterdam")
        coordinator = factories.make_user("carla", (site, Role.SITE_COORDINATOR))
        pathologist = factories.make_user("paula", (site, Role.PATHOLOGIST))
        yield ab.build_dataset(coordinator, pathologist, site)


def fetch_csv(client, plot: str, **filters) -> list[dict[str, str]]:
    response = client.get("/pathology/analyses/data.csv", {"plot": plot, **filters})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def fetch_png(client, plot: str, save_as: str = "", **filters) -> bytes:
    response = client.get("/pathology/analyses/plot.png", {"plot": plot, **filters})
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n" and len(response.content) > 10_000
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"analysis-{save_as or plot}.png").write_bytes(response.content)
    return response.content


def floats(rows, key, **where):
    return [float(r[key]) for r in rows if all(r[k] == v for k, v in where.items()) and r[key] != ""]


def test_suv_against_cd8_uses_the_matched_scan_and_reproduces_rho(client_for, monitor, dataset):
    client = client_for(monitor)
    rows = fetch_csv(client, "suv_cd8")
    assert len(rows) == 2 * ab.N
    baseline = [r for r in rows if r["period"] == "baseline"]
    assert {r["scan"] for r in baseline} == {"BL_PET2"}
    assert {r["scan"] for r in rows if r["period"] == "on_treatment"} == {"OT_PET2"}
    assert floats(baseline, "suv_max") == pytest.approx(ab.BL_SUVMAX)
    assert floats(baseline, "cd8_density_intratumoural") == ab.CD8_DENSITY
    # Ranks 1..8 against 1 3 2 4 5 7 6 8: sum d^2 = 4, rho = 1 - 6*4/(8*63) = 0.952381.
    res = spearman(floats(baseline, "suv_max"), floats(baseline, "cd8_density_intratumoural"))
    assert res.rho == pytest.approx(1 - 24 / 504) and res.n == 8 and res.p_method == "exact permutation"
    page = client.get("/pathology/analyses/").content.decode()
    assert "rho = 0.95 [95% CI" in page and "n = 8" in page and "Fieller" in page and "nearest" in page
    fetch_png(client, "suv_cd8")


def test_suv_against_pdl1_lists_tps_and_cps(client_for, monitor, dataset):
    client = client_for(monitor)
    rows = [r for r in fetch_csv(client, "suv_pdl1") if r["period"] == "baseline"]
    assert floats(rows, "pdl1_tps") == [5.0 * i for i in range(ab.N)]
    assert floats(rows, "pdl1_cps") == [min(100.0, 8.0 * i) for i in range(ab.N)]
    stats = PLOTS["suv_pdl1"].stats([{**r, "period": "baseline"} for r in rows])
    tps = next(s for s in stats if s["panel"] == "SUVmax vs PD-L1 TPS (%)" and s["period"] == "Baseline")
    assert tps["result"].rho == pytest.approx(1.0) and tps["n"] == 8
    fetch_png(client, "suv_pdl1")


def test_mri_against_cd8_and_phenotype(client_for, monitor, dataset):
    client = client_for(monitor)
    rows = fetch_csv(client, "mri_cd8")
    baseline = [r for r in rows if r["period"] == "baseline"]
    assert floats(baseline, "Ktrans") == pytest.approx([0.1 + 0.02 * i for i in range(ab.N)])
    assert floats(baseline, "K") == pytest.approx([0.8 + 0.05 * i for i in range(ab.N)])
    assert floats(baseline, "D") == pytest.approx([1.2e-3 - 0.05e-3 * i for i in range(ab.N)])
    # The MRI was acquired at baseline only: on-treatment biopsies have no same-period MRI.
    assert all(r["Ktrans"] == "" for r in rows if r["period"] == "on_treatment")
    assert [r["immune_phenotype"] for r in baseline] == ab.PHENOTYPES
    stats = PLOTS["mri_cd8"].stats([{**r, "immune_phenotype": r["immune_phenotype"]} for r in baseline])
    phen = next(s for s in stats if s["panel"] == "Ktrans by immune phenotype" and s["period"] == "Baseline")
    assert phen["text"].startswith("desert: n=2, median 0.12; excluded: n=3")
    fetch_png(client, "mri_cd8")


def test_uptake_change_against_best_response(client_for, monitor, dataset):
    client = client_for(monitor)
    rows = fetch_csv(client, "uptake_response")
    assert len(rows) == ab.N
    assert floats(rows, "suvmax_change_percent") == pytest.approx([100 * c for c in ab.UPTAKE_CHANGE])
    assert [r["best_recist"] for r in rows] == [ab.recist_code(c) for c in ab.SUM_CHANGE]
    assert [r["best_irecist"] for r in rows] == [ab.irecist_code(c) for c in ab.SUM_CHANGE]
    assert {r["pet_pair"] for r in rows} == {"BL_PET2->OT_PET2"}
    stats = PLOTS["uptake_response"].stats(rows)
    assert stats[0]["n"] == ab.N and stats[1]["n"] == ab.N
    assert "PR: n=4, median 45.00" in stats[0]["text"]  # PR changes 50, 30, 60, 40 -> median 45
    assert "iUPD: n=2, median -15.00" in stats[1]["text"]  # PD changes -20, -10
    fetch_png(client, "uptake_response")


def test_waterfall_is_coloured_by_baseline_uptake(client_for, monitor, dataset):
    client = client_for(monitor)
    rows = fetch_csv(client, "waterfall")
    assert floats(rows, "best_sum_change_percent") == pytest.approx([100 * c for c in ab.SUM_CHANGE])
    assert floats(rows, "baseline_uptake_suvmax") == pytest.approx(ab.BL_SUVMAX)
    fetch_png(client, "waterfall")


def test_swimmer_shows_treatment_responses_and_saes(client_for, monitor, dataset):
    client = client_for(monitor)
    rows = fetch_csv(client, "swimmer")
    assert sum(r["event"] == "treatment" for r in rows) == ab.N
    sae = [r for r in rows if r["event"] == "sae"]
    assert len(sae) == 1 and sae[0]["day"] == "40" and sae[0]["participant"] == dataset[2].study_id
    responses = [r for r in rows if r["event"] == "response"]
    assert {r["day"] for r in responses} == {"57"}
    ongoing = {r["participant"] for r in rows if r["event"] == "treatment" and r["value"] == "ongoing"}
    assert ongoing == {p.study_id for i, p in enumerate(dataset) if i % 2 == 0}
    fetch_png(client, "swimmer")


def test_organ_suvs_over_time_pooled_and_per_participant(client_for, monitor, dataset):
    client = client_for(monitor)
    rows = fetch_csv(client, "organ_suv")
    assert len(rows) == ab.N * 4 * 2
    spleen = [r for r in rows if r["organ"] == "spleen" and r["participant"] == dataset[3].study_id]
    assert [r["scan"] for r in spleen] == list(ab.PET_CODES)
    assert floats(spleen, "suv_mean") == pytest.approx([3.3 + 0.2 * k for k in range(4)])
    one = fetch_csv(client, "organ_suv", participant=dataset[3].study_id)
    assert {r["participant"] for r in one} == {dataset[3].study_id} and len(one) == 8
    fetch_png(client, "organ_suv")


def test_filters_by_tumour_type_drug_and_site(client_for, monitor, other_coordinator, dataset):
    client = client_for(monitor)
    melanoma = fetch_csv(client, "suv_cd8", tumour_type="Melanoma")
    assert {r["tumour_type"] for r in melanoma} == {"Melanoma"} and len(melanoma) == ab.N
    cetrelimab = fetch_csv(client, "waterfall", drug="cetrelimab")
    assert {r["anti_pd1"] for r in cetrelimab} == {"cetrelimab"} and len(cetrelimab) == 4
    assert fetch_csv(client, "suv_cd8", site="BE01") == []
    small = client.get(
        "/pathology/analyses/", {"drug": "cetrelimab", "tumour_type": "Melanoma"}
    ).content.decode()
    assert "n = 2" in small and "p = " not in small  # two baseline pairs: n shown, no rho CI or p-value
    client_for(other_coordinator)
    assert fetch_csv(client, "suv_cd8") == []  # another site's data never reaches the plots
    fetch_png(client, "suv_cd8", save_as="suv_cd8-other-site-empty")


def test_an_unknown_plot_is_404(client_for, monitor):
    client = client_for(monitor)
    assert client.get("/pathology/analyses/plot.png", {"plot": "nope"}).status_code == 404


def test_the_biopsy_page_shows_the_matched_vois_suvs_and_same_period_mri(client_for, monitor, dataset):
    from pathology.models import Biopsy

    biopsy = Biopsy.objects.get(sample_id="T-3-BL")
    page = client_for(monitor).get(f"/pathology/biopsies/{biopsy.pk}/").content.decode()
    from config.display import label_of

    assert "Matched scan: <strong>" in page and label_of("BL_PET2") in page  # the visit's name, not its code
    # Lesion T1 at BL_PET2: SUVmax 5.00, SUVpeak 0.9 x 5 = 4.50, SUVmean 0.6 x 5 = 3.00; BL_PET1 listed as other.
    assert "<td>5.00</td><td>4.50</td><td>3.00</td>" in page
    assert "other time point" in page
    # Same-period MRI: Ktrans 0.1 + 0.02 x 3 = 0.16 (DCE row), K = 0.8 + 0.05 x 3 = 0.95 (DKI row).
    assert (
        "<td>0.16</td>" in page
        and "<td>0.95</td>" in page
        and "<td>0.00105</td>" in page
        and "same period" in page
    )
    on_treatment = Biopsy.objects.get(sample_id="T-3-OT")
    page = client_for(monitor).get(f"/pathology/biopsies/{on_treatment.pk}/").content.decode()
    assert label_of("OT_PET2") in page and "other period" in page
