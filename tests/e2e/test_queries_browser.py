"""Real headless Chromium: the monitor raises a query on an AE's grade, the coordinator answers and corrects the
grade in the same step, the monitor closes the query. Screenshots in /work/shots/queries/ (or var/screenshots)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from queries.models import Query
from safety.models import AdverseEvent, CtcaeTerm
from tests import factories
from tests.safety.conftest import base_values

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("QUERIES_SHOTS", "/work/shots/queries"))


def logout(page):
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/accounts/login/")


def test_monitor_queries_an_ae_grade_coordinator_corrects_it_monitor_closes(
    page, login, coordinator, monitor, site_nl
):
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
    except OSError:  # a machine without /work: keep them with the other screenshots
        from tests.e2e.conftest import SCREENSHOTS as fallback

        globals()["SHOTS"] = fallback
        fallback.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    participant = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, participant)
    from safety import services as safety_services

    term = CtcaeTerm.objects.get(version="5.0", term="Fatigue")
    ae = safety_services.ae_create(
        ctx=factories.ctx_for(coordinator), participant=participant, values=base_values(term, grade=1)
    )

    login(monitor)
    page.goto(f"/safety/aes/{ae.pk}/")
    page.click("#ae-grade a.query-raise")
    page.wait_for_selector("#raise-form")
    assert page.inner_text("#current-value") == "1"
    page.fill("#id_text", "Source document (clinic letter) says fatigue limiting instrumental ADL: grade 2?")
    shot("q-01-monitor-raises")
    page.click("#raise-form button[type=submit]")
    page.wait_for_selector("#thread")
    query = Query.objects.get()
    assert page.inner_text("#query-status") == "Open" and "Query 1 raised." not in page.inner_text("h1")
    page.goto(f"/safety/aes/{ae.pk}/")
    assert "1 open query" in page.inner_text("#ae-grade")
    shot("q-02-badge-on-grade")
    logout(page)

    login(coordinator)
    page.goto(f"/participants/{participant.pk}/")
    assert "1 open query" in page.inner_text("h1")
    page.goto(f"/safety/aes/{ae.pk}/")
    page.click("#ae-grade a.query-badge")
    page.wait_for_selector("#answer-form")
    page.fill("#answer-text", "Checked the clinic letter: grade 2 is right, corrected.")
    page.check("#answer-correct")
    page.fill("#answer-new_value", "2")
    shot("q-03-coordinator-answers")
    page.click("#answer-form button[type=submit]")
    page.wait_for_selector(".messages")
    assert page.inner_text("#query-status") == "Answered"
    assert "Answered with a correction" in page.inner_text("#thread")
    shot("q-04-answered")
    ae.refresh_from_db()
    assert (ae.grade, ae.version) == (2, 2)
    logout(page)

    login(monitor)
    page.goto("/")
    assert "NL01" in page.inner_text("#query-summary")
    shot("q-05-dashboard")
    page.goto(f"/queries/{query.pk}/")
    page.fill("#close-text", "Verified against the source: grade 2.")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector(".messages")
    assert page.inner_text("#query-status") == "Closed"
    assert page.locator("#thread tr").count() == 4  # header, raised, answered with correction, closed
    shot("q-06-closed")
    page.goto(f"/safety/aes/{ae.pk}/")
    assert page.locator("#ae-grade a.query-badge").count() == 0
    query.refresh_from_db()
    assert query.status == "closed" and AdverseEvent.objects.get().grade == 2
