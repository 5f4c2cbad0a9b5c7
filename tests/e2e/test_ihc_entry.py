"""A pathologist enters CD8 and PD-L1 scores in real Chromium; an out-of-range value is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pathology.models import IhcScore
from tests.pathology.builders import make_biopsy, make_lesion

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_pathologist_enters_cd8_and_pdl1_scores(page, login, screenshot, pathologist, participant):
    lesion = make_lesion(pathologist, participant, "T1", "Liver")
    biopsy = make_biopsy(pathologist, participant, lesion=lesion, sample_id="PA-26-0042")
    login(pathologist)
    page.click("text=Pathology")
    page.click("text=PA-26-0042")
    page.wait_for_selector("h1:has-text('Biopsy PA-26-0042')")
    page.click("a.button:has-text('CD8')")
    page.fill("#id_density_intratumoural", "412.5")
    page.fill("#id_density_stromal", "-30")
    page.fill("#id_percent_positive", "18")
    page.select_option("#id_semi_quant", "2")
    page.select_option("#id_immune_phenotype", "inflamed")
    page.click("button:has-text('Save CD8 score')")
    error = page.locator(".field.has-error .error")
    error.wait_for()
    assert error.inner_text() == "Stromal density must be at least 0 cells/mm²; -30 was entered."
    screenshot("ihc-cd8-refused")
    assert IhcScore.objects.count() == 0
    page.fill("#id_density_stromal", "655")
    page.click("button:has-text('Save CD8 score')")
    page.wait_for_selector("text=CD8 score saved")

    page.click("a.button:has-text('PD-L1')")
    page.fill("#id_pdl1_pos_tumour_cells", "60")
    page.fill("#id_pdl1_pos_lymphocytes", "25")
    page.fill("#id_pdl1_pos_macrophages", "15")
    page.fill("#id_viable_tumour_cells", "80")
    page.click("button:has-text('Save PD-L1 score')")
    page.wait_for_selector(".field.has-error")
    assert "At least 100 viable tumour cells" in page.inner_text(".field.has-error")
    screenshot("ihc-pdl1-refused")
    page.fill("#id_viable_tumour_cells", "400")
    page.fill("#id_tps", "15")
    page.click("button:has-text('Save PD-L1 score')")
    page.wait_for_selector("text=PD-L1 score saved")
    screenshot("ihc-biopsy-page")
    table = page.inner_text("table.ihc")
    assert "412.50 cells/mm²" in table and "Inflamed" in table and "Combined positive score: 25.00" in table

    cd8 = IhcScore.objects.get(marker__code="CD8")
    pdl1 = IhcScore.objects.get(marker__code="PD-L1")
    assert (cd8.density_intratumoural, cd8.density_stromal, cd8.semi_quant) == (
        Decimal("412.50"),
        Decimal("655.00"),
        2,
    )
    assert (pdl1.tps, pdl1.cps, pdl1.scorer_id, pdl1.biopsy_id) == (
        Decimal("15.00"),
        Decimal("25.00"),
        pathologist.pk,
        biopsy.pk,
    )


def test_the_analyses_page_shows_every_plot_with_its_numbers(
    page, login, screenshot, coordinator, pathologist, monitor, site_nl
):
    from pathology.plots import PLOTS
    from tests.pathology.analysis_builders import build_dataset

    build_dataset(coordinator, pathologist, site_nl)
    login(monitor)
    page.click("text=Analyses")
    page.wait_for_selector("h1:has-text('Correlation analyses')")
    images = page.locator("img.plot")
    assert images.count() == len(PLOTS)
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle()
        )
    assert "rho = 0.95 [95% CI 0.74 to 0.99], n = 8" in page.inner_text("#suv_cd8 table.stats")
    screenshot("analyses-page")
    page.select_option("select[name=drug]", "cetrelimab")
    page.click("button:has-text('Filter')")
    page.wait_for_selector("h1:has-text('Correlation analyses')")
    assert "drug=cetrelimab" in page.url
    assert "n = 4" in page.inner_text("#suv_cd8 table.stats")
