"""Demo-like data and a walk over the pages each role reaches, for the checks on what pages show (labels, dates)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

from lxml import html as lxml_html

# A raw code in visible text: UPPER_SNAKE (BL_PET1, NON_CR_NON_PD) or snake_case (on_treatment, extended_tofts).
RAW_CODE = re.compile(r"\b(?:[A-Z][A-Z0-9]*_[A-Z0-9_]+|[a-z][a-z0-9]*_[a-z0-9_]+)\b")
# The one date format: 2026-12-06, 2026-12-06 14:03 UTC (or a site's zone: 2026-12-06 15:03 CET (Europe/...)).
OTHER_DATE_FORMATS = {
    "month name": re.compile(
        r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{4}"
        r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, \d{4}"
    ),
    "day/month/year": re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
    "ISO with T": re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),
    "seconds": re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"),
    "a.m./p.m.": re.compile(r"\b\d{1,2}(?::\d{2})? ?[ap]\.m\."),
    "time without zone": re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?!:| [A-Z]{2,5}\b| [+-]\d{2})"),
}
# Not walked: files and plots.
NOT_PAGES = re.compile(
    r"^/(admin|api|static|media|accounts/logout)|\.(csv|png|svg|zip|nii|gz|json|xml|xpt|dcm)$"
    r"|/download|/export(?:/|\.|$)|/plot|/preview|/mip|/volume|/file|format="
)


def build_demo_like(monkeypatch: Any, per_site: int = 3) -> tuple[list[Any], dict[str, Any]]:
    """The demo trial at 3 participants per site: trial, AEs, lesions and responses, the casebook."""
    from casebook import demo as casebook_demo
    from lesions import demo as lesions_demo
    from safety import demo as safety_demo
    from trial import demo
    from trial.management.commands.load_demo import _quiet
    from trial.reference_data import ensure_loaded

    monkeypatch.setattr(demo, "PARTICIPANTS_PER_SITE", per_site)
    with _quiet():
        ensure_loaded()
        participants, users = demo.build_trial(random.Random(7))
        for module in (safety_demo, lesions_demo, casebook_demo):
            module.build_demo(participants, users, random.Random(module.__name__))
    return participants, users


def visible_text(content: bytes) -> str:
    doc = lxml_html.fromstring(content)
    for node in doc.xpath("//script|//style|//template|//option[not(@selected)]|//*[@hidden]"):
        node.drop_tree()
    return " ".join(t.strip() for t in doc.itertext() if t.strip())


def links(content: bytes, here: str) -> list[str]:
    doc = lxml_html.fromstring(content)
    found = []
    for a in doc.xpath("//a[@href]"):
        href = a.get("href").split("#")[0]
        if href.startswith("?"):
            href = here.split("?")[0] + href
        if href.startswith("/") and not NOT_PAGES.search(href):
            found.append(href)
    return found


def pattern(url: str) -> str:
    path, _, query = url.partition("?")
    keys = sorted(k.split("=")[0] for k in query.split("&") if k)
    return re.sub(r"\d+", "N", path) + ("?" + "&".join(keys) if keys else "")


def walk(
    client: Any, start: list[str], seen_patterns: set[str], limit: int, broken: list[str] | None = None
) -> Iterator[tuple[str, bytes]]:
    """Pages reached from `start` by links, one per URL pattern (shared across roles through seen_patterns); a
    link answering 4xx or 5xx is added to `broken` (a page offered it to this user)."""
    queue, visited, n = list(start), set(), 0
    while queue and n < limit:
        url = queue.pop(0)
        if url in visited:
            continue
        visited.add(url)
        key = pattern(url)
        if key in seen_patterns and url not in start:
            continue
        seen_patterns.add(key)
        response = client.get(url)
        if response.status_code >= 400 and broken is not None and url not in start:
            broken.append(f"{response.status_code} {url}")
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        n += 1
        queue.extend(links(response.content, url))
        yield url, response.content
