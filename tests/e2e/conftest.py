"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against live_server."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-quic",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=live_server.url)
    pg = context.new_page()
    pg.set_default_timeout(20000)
    pg.wait_for_function = _polling_wait_for_function(pg)  # type: ignore[method-assign]
    yield pg
    context.close()


def _polling_wait_for_function(pg):
    """Playwright's wait_for_function evals its predicate inside the page, which the app's CSP forbids (no
    'unsafe-eval'); this polls through page.evaluate (DevTools, outside the page's CSP) instead."""
    from playwright.sync_api import Error

    def wait(expression: str, *, arg=None, polling=None, timeout=None):
        deadline = time.monotonic() + (timeout or 20000) / 1000
        while True:
            try:
                value = pg.evaluate(expression, arg)
            except Error:  # e.g. the element is not there yet
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"wait_for_function timed out: {expression}")
            pg.wait_for_timeout(polling if isinstance(polling, int | float) else 100)

    return wait


@pytest.fixture
def login(page):
    from tests.factories import PASSWORD

    def do(user):
        page.goto("/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/")
        return page

    return do


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot
