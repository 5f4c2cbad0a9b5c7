"""Exports pages in headless Chromium: a data manager issues a token (key shown once), revokes it, and runs a
bulk export whose progress row turns into a download link."""

from __future__ import annotations

import pytest

from exports.models import ExportJob
from tests import factories
from trial.models import ApiToken

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_token_page_and_bulk_export(page, login, screenshot, coordinator, site_nl, data_manager, sponsor):
    factories.enrol(coordinator, site_nl)
    login(data_manager)
    page.goto("/exports/tokens/")
    page.fill("#id_username", "sam")
    page.fill("#id_label", "sponsor nightly pull")
    page.click("button:has-text('Issue token')")
    key = page.locator("#issued-key code").first.inner_text().strip()
    token = ApiToken.objects.get(label="sponsor nightly pull")
    assert token.read_only and key.startswith(token.prefix)
    screenshot("exports_token_issued")
    page.fill("#tokens input[name=reason]", "rotated")
    page.click("#tokens button:has-text('Revoke')")
    page.wait_for_selector("text=revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None

    page.goto("/exports/")
    page.click("button:has-text('Start a bulk export')")
    page.wait_for_selector("#jobs a:has-text('Download zip')", timeout=60000)
    assert ExportJob.objects.get().status == "done"
    screenshot("exports_index")
