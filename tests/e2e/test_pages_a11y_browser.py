"""Every page a user reaches, in Chromium, one login per role: axe-core (tests/vendor/axe-core) finds no critical or
serious violation; the dashboard and the participant page fit a 390 px wide phone screen without sideways scrolling
(tables may scroll inside their own wrapper); screenshots in /work/shots/h18/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casebook import services as casebook_services
from casebook.models import LabResult, Medication
from casebook.registry import KINDS
from imaging.models import Scan
from tests import factories
from tests.casebook.builders import lab, med
from tests.e2e.test_casebook_browser import axe_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/work/shots/h18")
PHONE = {"width": 390, "height": 844}


def _pages(participant, scans) -> dict[str, list[str]]:
    p = participant.pk
    visit = participant.visits.order_by("planned_date").first()
    # Each casebook form; the lists share one template (three of them: plain, with a flag, with times).
    casebook = [f"/casebook/participants/{p}/{slug}/new/" for slug in KINDS]
    casebook += [f"/casebook/participants/{p}/{slug}/" for slug in ("medications", "labs", "vital-signs")]
    scan_pages = [f"/imaging/scans/{s.pk}/" if s.modality == "PT" else f"/mri/scans/{s.pk}/" for s in scans]
    nav = ["/", "/participants/", "/safety/", "/imaging/worklist/", "/lesions/", "/pathology/"]
    nav += ["/pathology/analyses/", "/kinetics/cohort/", "/exports/", "/queries/?status=live"]
    nav += ["/monitoring/missing-forms/", "/casebook/screening-log/"]
    return {
        "coordinator": nav
        + [
            f"/participants/{p}/",
            f"/participants/{p}/visits/{visit.pk}/",
            f"/safety/participants/{p}/aes/new/",
            f"/safety/participants/{p}/aes/",
            f"/lesions/participants/{p}/",
            f"/kinetics/participants/{p}/",
            f"/casebook/records/medications/{Medication.objects.get().pk}/edit/",
            f"/casebook/records/medications/{Medication.objects.get().pk}/void/",
            *casebook,
            *scan_pages,
        ],
        "investigator": ["/", "/monitoring/signatures/", f"/monitoring/participants/{p}/sign/"],
        "radiologist": ["/", "/imaging/worklist/", *scan_pages],
        "pathologist": ["/", "/pathology/", "/pathology/analyses/"],
        "monitor": ["/", "/monitoring/overview/", "/monitoring/sdv/", f"/monitoring/participants/{p}/sdv/"],
        "data_manager": ["/", "/monitoring/overview/", "/monitoring/locks/", "/exports/tokens/"],
        "sponsor": ["/", "/exports/"],
    }


def test_every_page_passes_axe_and_the_main_pages_fit_a_phone(
    browser,
    live_server,
    coordinator,
    investigator,
    radiologist,
    pathologist,
    monitor,
    data_manager,
    sponsor,
    participant,
):
    from tests.factories import PASSWORD

    SHOTS.mkdir(parents=True, exist_ok=True)
    factories.record_tracer_dose(coordinator, participant)
    ctx = factories.ctx_for(coordinator)
    casebook_services.record_create(ctx=ctx, model=Medication, participant=participant, data=med())
    casebook_services.record_create(ctx=ctx, model=LabResult, participant=participant, data=lab())  # grade 3
    scans = [
        s for m in ("PT", "MR") if (s := Scan.objects.filter(participant=participant, modality=m).first())
    ]
    users = {
        "coordinator": coordinator, "investigator": investigator, "radiologist": radiologist,
        "pathologist": pathologist, "monitor": monitor, "data_manager": data_manager, "sponsor": sponsor,
    }  # fmt: skip
    violations: dict[str, list] = {}
    widths: dict[str, int] = {}
    visited = 0
    for role, urls in _pages(participant, scans).items():
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(20000)
        page.goto("/accounts/login/")
        page.fill("#id_username", users[role].username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/")
        for url in urls:
            response = page.goto(url)
            if response is None or response.status >= 400:
                violations[f"{role} {url}"] = [f"HTTP {response.status if response else '-'}"]
                continue
            visited += 1
            found = axe_violations(page)
            if found:
                violations[f"{role} {url}"] = found
        for url, name in (("/", "dashboard"), (f"/participants/{participant.pk}/", "participant")):
            if role != "coordinator" and name == "participant":
                continue
            page.set_viewport_size(PHONE)
            page.goto(url)
            widths[f"{role} {name}"] = page.evaluate("document.scrollingElement.scrollWidth")
            if role in ("coordinator", "investigator"):
                page.screenshot(path=str(SHOTS / f"390-{role}-{name}.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})
        if role == "coordinator":
            page.goto(f"/casebook/records/medications/{Medication.objects.get().pk}/edit/")
            page.screenshot(path=str(SHOTS / "void-action-on-edit-page.png"), full_page=True)
        context.close()
    (SHOTS / "axe.json").write_text(json.dumps({"violations": violations, "widths": widths}, indent=1))
    assert visited > 50
    assert violations == {}
    assert {k: w for k, w in widths.items() if w > PHONE["width"]} == {}
