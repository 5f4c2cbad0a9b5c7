"""A coordinator's casebook day in Chromium: a medication, a vital-signs set around the tracer infusion and a lab
result (graded, flagged), with axe-core (tests/vendor/axe-core) finding no critical or serious violation; the
records then reach the sponsor API and change feed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from casebook import services
from casebook.models import LabResult, Medication, VitalSigns
from tests import factories
from tests.exports.helpers import issue, pull_all, token_client

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
SHOTS = Path("/work/shots/casebook")


def axe_violations(page) -> list[dict]:
    """Critical and serious axe-core violations of the current page (axe injected through DevTools, not the CSP)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['critical', 'serious'].includes(v.impact))"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"
    )
    return found


def test_a_coordinator_enters_a_medication_vital_signs_and_a_lab_result(
    page, login, coordinator, participant, sponsor, data_manager
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    dose = factories.record_tracer_dose(coordinator, participant)
    today = timezone.localdate()
    checked: dict[str, list] = {}

    def shot(name: str, axe: bool = True) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        if axe:
            checked[name] = axe_violations(page)

    login(coordinator)
    page.goto(f"/participants/{participant.pk}/")
    page.wait_for_selector("text=Casebook")
    page.click("text=Add a medication")
    page.select_option("#id_category", "concomitant")
    page.fill("#id_name", "Prednisolone")
    page.fill("#id_indication", "Rheumatoid arthritis")
    page.fill("#id_dose", "5")
    page.fill("#id_dose_unit", "mg")
    page.select_option("#id_route", "oral")
    page.fill("#id_frequency", "once daily")
    page.fill("#id_start_date", (today - dt.timedelta(days=60)).isoformat())
    page.check("#id_ongoing")
    page.check("#id_is_systemic_steroid")
    shot("01-medication-form")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Saved: Prednisolone")
    assert "Rheumatoid arthritis" in page.inner_text("table.casebook-records")
    shot("02-medication-list", axe=False)  # same template as the lab list below

    page.click("nav.casebook-nav >> text=Vital signs")
    page.click("text=Record vital signs")
    page.select_option("#id_tracer_dose", str(dose.pk))
    page.select_option("#id_timepoint", "post_infusion")
    zone_wall = timezone.localtime(dose.administered_at, timezone=ZoneInfo(participant.site.time_zone))
    page.fill("#id_measured_at", (zone_wall + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_systolic_mmhg", "80")
    page.fill("#id_diastolic_mmhg", "90")  # wrong on purpose: the error summary links to the field
    page.fill("#id_pulse_bpm", "72")
    page.fill("#id_temperature_c", "36.9")
    page.fill("#id_respiratory_rate", "14")
    page.fill("#id_spo2_pct", "98")
    page.click("button:has-text('Save')")
    page.wait_for_selector("#error-summary")
    assert "must be below the systolic pressure" in page.inner_text("#error-summary")
    shot("03-vitals-error-summary")
    page.fill("#id_systolic_mmhg", "128")
    page.fill("#id_diastolic_mmhg", "82")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Saved: Vital signs after tracer infusion")
    assert "After tracer infusion" in page.inner_text("table.casebook-records")
    shot("04-vitals-list", axe=False)

    page.click("nav.casebook-nav >> text=Laboratory results")
    page.click("text=Record a lab result")
    page.select_option("#id_panel", "haematology")
    page.fill("#id_collected_on", (today - dt.timedelta(days=1)).isoformat())
    page.select_option("#id_test_code", "NEUT")
    page.fill("#id_value", "0.8")
    page.select_option("#id_unit", "10^9/L")
    page.fill("#id_lln", "1.8")
    page.fill("#id_uln", "7.5")
    shot("05-lab-form")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=grade 3 without a matching AE")
    row = page.inner_text("table.casebook-records")
    assert "Neutrophil count decreased" in row and "Neutrophils" in row
    shot("06-lab-list-flagged")
    page.goto(f"/participants/{participant.pk}/")
    page.wait_for_selector("text=of CTCAE grade 2 or more without a matching AE")
    page.locator("text=Casebook").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "07-participant-casebook-section.png"), full_page=True)

    assert Medication.objects.get().is_systemic_steroid and Medication.objects.get().version == 1
    assert VitalSigns.objects.get().tracer_dose_id == dose.pk
    assert LabResult.objects.get().ctcae_grade == 3  # "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L"
    # The records reach the sponsor API and its change feed (their writes are audited).
    feed = token_client(issue(data_manager, sponsor)[1])
    labs = feed.get("/api/v1/export/lab-results/").json()["results"]
    assert [(r["participant"], r["test_code"], r["ctcae_grade"], r["ctcae_term"]) for r in labs] == [
        (participant.study_id, "NEUT", 3, "Neutrophil count decreased")
    ]
    items, cursor = pull_all(feed, "medications")
    med = Medication.objects.get()
    assert [(i["id"], i["action"], i["record"]["name"]) for i in items] == [
        (med.pk, "create", "Prednisolone")
    ]
    services.record_void(ctx=factories.ctx_for(coordinator), instance=med, reason="entered twice")
    assert [(i["id"], i["action"], i["record"]) for i in pull_all(feed, "medications", cursor)[0]] == [
        (med.pk, "void", None)
    ]
    assert feed.get("/api/v1/export/vital-signs/").json()["results"][0]["timepoint"] == "post_infusion"
    (SHOTS / "axe.json").write_text(json.dumps(checked, indent=1))
    assert {name: v for name, v in checked.items() if v} == {}
