"""Real headless Chromium: the investigator signs a casebook from the work queue; the data manager locks it;
the coordinator's edit of a locked AE is refused on the page while the answer to a query is accepted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitoring.models import CasebookSignature, DataLock
from queries import services as query_services
from queries.models import Query
from safety import services as safety_services
from safety.models import CtcaeTerm
from tests import factories
from tests.factories import PASSWORD
from tests.safety.conftest import base_values

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Screenshots to look at: MONITOR_SHOTS (e.g. /work/shots/monitor) or a /tmp default a fresh CI machine can write.
SHOTS = Path(os.environ.get("MONITOR_SHOTS", "/tmp/cd8pet-shots/monitor"))


def logout(page):
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/accounts/login/")


def test_casebook_signed_locked_then_an_edit_is_refused_and_a_query_answer_accepted(
    page, login, coordinator, investigator, monitor, data_manager, site_nl
):
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    participant = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, participant)
    term = CtcaeTerm.objects.get(version="5.0", term="Fatigue")
    ae = safety_services.ae_create(
        ctx=factories.ctx_for(coordinator), participant=participant, values=base_values(term)
    )
    query = query_services.query_raise(
        ctx=factories.ctx_for(monitor),
        resource="adverse-events",
        object_id=ae.pk,
        field="grade",
        text="Grade 1?",
    )

    # the monitor verifies the AE form from the participant's SDV page
    login(monitor)
    page.goto(f"/monitoring/participants/{participant.pk}/sdv/")
    page.click("form:has(input[name=form][value=adverse-events]) button")
    page.wait_for_selector(f"#sdv-adverse-events-{ae.pk} .badge.ok")
    assert "verified" in page.inner_text(f"#sdv-adverse-events-{ae.pk}")
    shot("00-monitor-sdv-page")
    logout(page)

    # the investigator signs the casebook from the work queue
    login(investigator)
    page.click("#nav-to-sign")
    page.wait_for_url("**/monitoring/signatures/")
    assert participant.study_id in page.inner_text("#queue-casebooks")
    shot("01-investigator-queue")
    page.click(f"#queue-casebooks a[href='/monitoring/participants/{participant.pk}/sign/']")
    rows = page.locator("#covered-records tr").count() - 1
    assert rows >= 20 and "Adverse events" in page.inner_text("#covered-records")
    shot("02-casebook-sign-page")
    page.check("input[name=meaning][value=complete]")
    page.fill("#id_password", PASSWORD)
    page.click("#casebook-sign-button")
    page.wait_for_url(f"**/participants/{participant.pk}/")
    assert "Signed" in page.inner_text("#casebook-signature")
    shot("03-casebook-signed")
    assert CasebookSignature.objects.get(voided=False).records.__len__() == rows
    logout(page)

    # the data manager locks the casebook from the participant page
    login(data_manager)
    page.goto(f"/participants/{participant.pk}/")
    page.select_option("select[name=kind]", "lock")
    page.fill("#casebook-lock-reason", "Casebook clean")
    page.click("#casebook-lock-button")
    page.wait_for_selector("#casebook-lock .badge")
    assert "Locked" in page.inner_text("#casebook-lock")
    shot("04-casebook-locked")
    page.click("#nav-data-management")
    page.wait_for_url("**/monitoring/overview/")
    assert participant.study_id in page.inner_text("#locked-casebooks")
    shot("05-data-manager-overview")
    page.click("a:has-text('Freeze and lock')")
    page.wait_for_url("**/monitoring/locks/")
    assert f"casebook {participant.study_id}" in page.inner_text("#lock-table")
    shot("05b-locks-page")
    logout(page)

    # the coordinator's edit is refused with the lock named; the query answer is accepted
    login(coordinator)
    page.goto(f"/safety/aes/{ae.pk}/edit/")
    page.fill("#id_description", "More tired in the evenings")
    page.fill("#id_reason", "Source document")
    page.click("#save-ae")
    error = page.inner_text(".errorbox")
    assert "locked" in error and "Casebook clean" in error
    shot("06-locked-edit-refused")
    ae.refresh_from_db()
    assert ae.description == "" and ae.version == 1
    page.goto(f"/queries/{query.pk}/")
    page.fill("#answer-form textarea[name=text]", "Grade 1 per the source notes.")
    page.click("#answer-form button[type=submit]")
    page.wait_for_selector("#query-status")
    assert "Answered" in page.inner_text("#query-status")
    shot("07-query-answered-on-locked-casebook")
    assert Query.objects.get(pk=query.pk).status == "answered"
    assert DataLock.objects.get().live
