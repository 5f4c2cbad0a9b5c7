from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from trial.models import Participant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_coordinator_logs_in_enrols_a_participant_and_sees_the_timeline(
    page, login, screenshot, coordinator
):
    login(coordinator)
    page.click("text=Participants")
    page.click("text=Enrol a participant")
    today = timezone.localdate()
    page.fill("#id_year_of_birth", "1958")
    page.select_option("#id_sex", "M")
    page.fill("#id_height_cm", "178")
    page.fill("#id_weight_kg", "81.5")
    page.fill("#id_tumour_type", "Non-small cell lung cancer")
    page.select_option("#id_planned_anti_pd1", "cetrelimab")
    page.fill("#id_consent_date", (today - dt.timedelta(days=3)).isoformat())
    page.fill("#id_enrolment_date", today.isoformat())
    page.fill("#id_treatment_start_date", (today + dt.timedelta(days=21)).isoformat())
    for select in page.locator("select[id^=id_criterion_]").all():
        label = page.locator(f"label[for={select.get_attribute('id')}]").inner_text()
        select.select_option("yes" if "(Inclusion)" in label else "no")
    screenshot("enrolment-form")
    page.click("button:has-text('Enrol')")
    page.wait_for_selector("text=Timeline")
    assert "NL01-001" in page.inner_text("h1")
    timeline = page.inner_text("table.timeline")
    assert "Baseline tracer injection" in timeline
    assert "Safety follow-up" in timeline
    assert page.locator("table.timeline tr.visit").count() == 18
    screenshot("participant-timeline")
    assert Participant.objects.get().study_id == "NL01-001"


def test_an_ineligible_participant_is_refused_in_the_browser_with_the_criterion_named(
    page, login, coordinator
):
    login(coordinator)
    page.goto("/participants/new/")
    today = timezone.localdate()
    page.fill("#id_year_of_birth", "1958")
    page.fill("#id_height_cm", "178")
    page.fill("#id_weight_kg", "81.5")
    page.fill("#id_tumour_type", "Melanoma")
    page.fill("#id_consent_date", today.isoformat())
    page.fill("#id_enrolment_date", today.isoformat())
    page.fill("#id_treatment_start_date", (today + dt.timedelta(days=21)).isoformat())
    for select in page.locator("select[id^=id_criterion_]").all():
        select.select_option("yes")
    page.click("button:has-text('Enrol')")
    page.wait_for_selector(".errorbox")
    assert "E1 present" in page.inner_text(".errorbox")
    assert Participant.objects.count() == 0
