"""Forms in Chromium: a warning before leaving a form with unsaved changes (static/js/forms.js, under the CSP)
and an error summary at the top of a form linking to each field in error (templates/trial/_error_summary.html)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "forms"


def test_leaving_a_changed_form_asks_first_and_an_invalid_form_lists_its_errors_with_links(
    page, login, coordinator, participant
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    dialogs: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.accept() if answer["accept"] else dialog.dismiss()

    page.on("dialog", on_dialog)
    login(coordinator)
    new_weight = f"/casebook/participants/{participant.pk}/weight/new/"

    # an untouched form leaves without a question
    page.goto(new_weight)
    page.click(f"a[href$='/casebook/participants/{participant.pk}/weight/']")
    page.wait_for_url(f"**/casebook/participants/{participant.pk}/weight/")
    assert dialogs == []

    # a changed form asks; staying keeps the page and what was typed
    page.goto(new_weight)
    page.fill("#id_weight_kg", "71.4")
    page.click(f"a[href$='/casebook/participants/{participant.pk}/weight/']")
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
    assert page.url.endswith("/weight/new/") and page.input_value("#id_weight_kg") == "71.4"
    # leaving after all
    answer["accept"] = True
    page.click(f"a[href$='/casebook/participants/{participant.pk}/weight/']")
    page.wait_for_url(f"**/casebook/participants/{participant.pk}/weight/")
    assert dialogs == ["beforeunload", "beforeunload"]

    # an invalid submit (no date, no weight) shows the summary with a link per field in error
    answer["accept"] = False
    page.goto(new_weight)
    page.fill("#id_height_cm", "172")
    page.click("button:has-text('Save')")
    page.wait_for_selector("#error-summary")
    assert len(dialogs) == 2  # submitting is not leaving
    summary = page.locator("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    links = summary.locator("a")
    targets = sorted(links.nth(i).get_attribute("href") for i in range(links.count()))
    assert targets == ["#id_measured_on", "#id_weight_kg"]
    text = summary.inner_text().lower()
    assert "measured on: this field is required." in text and "weight (kg): this field is required." in text
    page.screenshot(path=str(SHOTS / "01-error-summary.png"), full_page=True)
    summary.locator("a[href='#id_measured_on']").click()
    assert page.evaluate("document.activeElement.id") == "id_measured_on"
    # what the form shows was not saved: leaving still asks
    page.click(f"a[href$='/casebook/participants/{participant.pk}/weight/']")
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"] * 3 and page.url.endswith("/weight/new/")

    # a valid submit leaves without a question
    page.fill("#id_measured_on", timezone.localdate().isoformat())
    page.fill("#id_weight_kg", "71.4")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"**/casebook/participants/{participant.pk}/weight/")
    assert len(dialogs) == 3
    page.screenshot(path=str(SHOTS / "02-saved.png"), full_page=True)
    assert refused == []


def test_a_data_manager_reads_the_missing_forms_report_and_filters_it(page, login, data_manager, participant):
    from tests.e2e.test_casebook_browser import axe_violations

    SHOTS.mkdir(parents=True, exist_ok=True)
    login(data_manager)
    page.goto("/monitoring/overview/")
    assert participant.site.code in page.inner_text("#missing-forms-by-site")
    page.click("text=Missing forms report")
    page.wait_for_selector("#missing-forms")
    assert participant.study_id in page.inner_text("#missing-forms")
    page.select_option("#mf-form", "vital-signs:pre_infusion")
    page.click("#missing-forms-filter button")
    page.wait_for_url("**form=vital-signs*")
    rows = page.inner_text("#missing-forms")
    assert "Vital signs (before tracer infusion)" in rows and "Medical history" not in rows
    page.screenshot(path=str(SHOTS / "03-missing-forms-report.png"), full_page=True)
    assert axe_violations(page) == []
    page.goto(f"/participants/{participant.pk}/")
    page.wait_for_selector("#participant-missing-forms")
    page.locator("#participant-missing-forms").screenshot(
        path=str(SHOTS / "04-participant-missing-forms.png")
    )
