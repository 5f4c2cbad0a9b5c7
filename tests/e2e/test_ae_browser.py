"""Real headless Chromium: capture a serious AE with term search, sign it as the investigator, and see an
edit void the signature."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from safety.models import AdverseEvent, AeSignature, SaeNotification
from tests import factories
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def logout(page):
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/accounts/login/")


def test_coordinator_records_an_sae_investigator_signs_and_an_edit_voids_the_signature(
    page, login, screenshot, coordinator, investigator, site_nl
):
    participant = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, participant)
    onset = (timezone.localdate() - dt.timedelta(days=3)).isoformat()

    login(coordinator)
    page.goto(f"/safety/participants/{participant.pk}/aes/new/")
    page.locator("#term-search").press_sequentially("febr", delay=60)
    option = page.locator("#term-results button.term-option", has_text="Febrile neutropenia")
    option.wait_for()
    page.keyboard.press("Enter")  # Enter in the search box must not submit the half-filled form
    page.wait_for_timeout(300)
    assert option.is_visible() and page.locator(".error").count() == 0  # no submit, no re-rendered errors
    screenshot("ae-01-term-search")
    option.click()
    page.wait_for_selector("#grade-options")
    grades = [r.get_attribute("value") for r in page.locator("#grade-options input[name=grade]").all()]
    assert grades == ["3", "4", "5"]
    assert "ANC <1000/mm3" in page.inner_text("#grade-options")
    assert page.locator("#term-results button").count() == 0  # the result list closes after choosing
    screenshot("ae-02-grades-offered")

    page.check("#id_grade_3")
    page.fill("#id_onset_date", onset)
    page.check("#id_ongoing")
    page.check("#id_serious")
    page.check("#id_sae_hospitalisation")
    page.select_option("#id_outcome", "not_recovered")
    page.select_option("#id_action_anti_pd1", "drug_interrupted")
    page.select_option("#id_rel_tracer", "unlikely")
    page.select_option("#id_rel_pet", "unrelated")
    page.select_option("#id_rel_biopsy", "unrelated")
    page.select_option("#id_rel_anti_pd1", "possible")
    page.fill("#id_description", "Admitted with fever 38.9 C and ANC 0.6 x10^9/L; IV antibiotics.")
    screenshot("ae-03-form-filled")
    page.click("#save-ae")
    page.wait_for_selector("#ae-table")
    table = page.inner_text("#ae-table")
    assert "Febrile neutropenia" in table and "SAE" in table and onset in table
    assert "SAE: notification queued" in page.inner_text(".messages")
    screenshot("ae-04-listed")
    ae = AdverseEvent.objects.get()
    assert (ae.grade, ae.serious, ae.sae_hospitalisation, ae.ctcae_version) == (3, True, True, "5.0")
    assert SaeNotification.objects.get(adverse_event=ae).sent_at is not None
    logout(page)

    login(investigator)
    page.goto(f"/safety/participants/{participant.pk}/sign/")
    page.check("input[name=meaning][value=complete_accurate]")
    page.fill("#id_password", PASSWORD)
    screenshot("ae-05-sign-form")
    page.click("#sign-button")
    page.wait_for_selector("#signature-status .sig:not(.voided)")
    status = page.inner_text("#signature-status")
    sig = AeSignature.objects.get()
    assert "Signed by Ivan Tester" in status and sig.signed_at.strftime("%Y-%m-%d %H:%M") + " UTC" in status
    assert "I confirm these AEs are complete and accurate" in status
    screenshot("ae-06-signed")
    logout(page)

    login(coordinator)
    page.goto(f"/safety/aes/{ae.pk}/edit/")
    page.fill("#id_description", "Admitted with fever 38.9 C; blood cultures negative.")
    page.fill("#id_reason", "Culture result added")
    page.click("#save-ae")
    page.wait_for_selector("#signature-status")
    status = page.inner_text("#signature-status")
    assert "Not signed" in status and "voided" in status and f"AE {ae.pk} edited" in status
    screenshot("ae-07-signature-voided")
    sig.refresh_from_db()
    assert sig.voided


def test_safety_tables_and_dashboard_in_the_browser(
    page, login, screenshot, coordinator, data_manager, site_nl
):
    from safety import services
    from safety.models import CtcaeTerm

    participant = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, participant)
    ctx = factories.ctx_for(coordinator)
    day = (timezone.localdate() - dt.timedelta(days=5)).isoformat()
    common = {
        "onset_date": day,
        "end_date": "",
        "ongoing": True,
        "outcome": "not_recovered",
        "action_anti_pd1": "dose_not_changed",
        "rel_tracer": "unrelated",
        "rel_pet": "unrelated",
        "rel_biopsy": "unrelated",
        "rel_anti_pd1": "probable",
    }
    for name, grade, extra in [
        ("Colitis", 3, {"serious": True, "sae_hospitalisation": True, "immune_related": True}),
        ("Pruritus", 1, {"immune_related": True}),
        ("Fatigue", 2, {}),
    ]:
        services.ae_create(
            ctx=ctx,
            participant=participant,
            values={"term": CtcaeTerm.objects.get(term=name), "grade": grade, **common, **extra},
        )
    login(data_manager)
    page.goto("/safety/tables/")
    assert "N = 1" in page.inner_text("#pop-n")
    page.wait_for_function("document.querySelector('img.plot').naturalWidth > 0")
    assert "Colitis" in page.inner_text("table.incidence")
    screenshot("ae-08-safety-tables")
    page.goto("/")
    pending = page.inner_text("#sae-pending")
    assert "Colitis" in pending and "not signed" in pending
    screenshot("ae-09-dashboard-sae-panel")
    page.goto(f"/participants/{participant.pk}/")
    assert "Adverse events (CTCAE v5.0)" in page.inner_text("body")
    assert "AE: Colitis, grade 3" in page.inner_text("table.timeline")
    screenshot("ae-10-participant-section")
    page.click("table.timeline a:has-text('AE: Colitis')")
    page.wait_for_selector("text=Course of this AE")
    assert "sent" in page.inner_text("body")
    screenshot("ae-11-ae-detail")
