"""Under the Content-Security-Policy (no inline script) the pages still work in real Chromium: the API docs
(Swagger UI and ReDoc from drf-spectacular-sidecar), htmx, and the pages whose scripts moved to /static."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def csp_violations(page) -> list[str]:
    """Console messages of CSP refusals and uncaught page errors, collected for the test's pages."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    return seen


def test_swagger_ui_and_redoc_render_under_the_csp(page, login, csp_violations, data_manager):
    login(data_manager)
    response = page.goto("/api/v1/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title:has-text('CD8-PET Trial Data Manager API')")
    # the schema was fetched and the operations drawn (recent Swagger UI lists tags virtually: no tag sections)
    page.wait_for_selector(".opblock .opblock-summary-path:has-text('/api/v1/adverse-events/')")
    page.goto("/api/v1/redoc/")
    page.wait_for_selector("#redoc-container h1:has-text('CD8-PET Trial Data Manager API')")
    # ReDoc's "API docs by Redocly" logo comes from cdn.redoc.ly: blocked, and rightly (nothing external).
    assert [v for v in csp_violations if "cdn.redoc.ly" not in v] == []


def test_the_new_biopsy_picker_works_from_its_static_script(
    page, login, csp_violations, pathologist, participant
):
    login(pathologist)
    page.goto("/pathology/")
    page.select_option("#new-biopsy-participant", str(participant.pk))
    page.click("#new-biopsy-form button")
    page.wait_for_url(f"**/pathology/participants/{participant.pk}/biopsies/new/")
    assert csp_violations == []


def test_the_ae_term_search_works_by_keyboard_under_the_csp(
    page, login, csp_violations, coordinator, site_nl
):
    """Enter in the search box never submits; arrows move through the results; choosing moves on to the grades."""
    participant = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, participant)
    login(coordinator)
    page.goto(f"/safety/participants/{participant.pk}/aes/new/")
    page.locator("#term-search").press_sequentially("febr", delay=60)
    page.locator("#term-results button.term-option").first.wait_for()
    page.keyboard.press("ArrowDown")
    first = page.evaluate("document.activeElement.dataset.termId")
    assert first == page.locator("#term-results button.term-option").first.get_attribute("data-term-id")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "term-search"
    page.keyboard.press("Enter")  # from the box: to the first result, no submit
    assert page.evaluate("document.activeElement.dataset.termId") == first
    assert page.locator(".errorbox, .error").count() == 0
    page.keyboard.press("Enter")  # choose it
    page.wait_for_selector("#grade-options")
    page.wait_for_function("document.activeElement && document.activeElement.name === 'grade'")
    assert csp_violations == []
