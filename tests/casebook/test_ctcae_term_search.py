"""CTCAE term search as a coordinator types it: synonyms, abbreviations, words in any order, no silent cap."""

from __future__ import annotations

import re

import pytest

from safety import selectors

pytestmark = pytest.mark.django_db


def first(query: str) -> str:
    return selectors.term_search(query)[0].term


def test_synonyms_and_abbreviations_find_the_ctcae_term_first():
    assert first("neutropenia") == "Neutrophil count decreased"
    assert first("ANC") == "Neutrophil count decreased"
    assert first("ALT") == "Alanine aminotransferase increased"
    assert first("pneumonia") == "Lung infection"
    assert first("skin other") == "Skin and subcutaneous tissue disorders - Other, specify"
    assert first("anaemia") == "Anemia"  # British spelling
    assert first("thrombocytopenia") == "Platelet count decreased"
    assert "Voice alteration" in [t.term for t in selectors.term_search("alt")]  # still offered, but after


def test_words_match_in_any_order_across_term_and_soc():
    names = [t.term for t in selectors.term_search("other skin", limit=100)]
    assert names == ["Skin and subcutaneous tissue disorders - Other, specify"]
    assert first("aminotransferase alanine") == "Alanine aminotransferase increased"


def test_more_than_25_results_are_paged_and_counted(client, coordinator):
    page = selectors.term_search_page("disorders")
    assert page.total > 25 and len(page.terms) == 25 and page.more == page.total - 25
    rest = selectors.term_search_page("disorders", offset=25, limit=1000)
    assert len(rest.terms) == page.total - 25
    assert not {t.pk for t in page.terms} & {t.pk for t in rest.terms}
    client.force_login(coordinator)
    html = client.get("/safety/terms/search/?q=disorders").content.decode()
    assert f"{page.total} terms found" in html and f"Show {page.more} more terms" in html
    more = client.get("/safety/terms/search/?q=disorders&offset=25").content.decode()
    assert len(re.findall(r"<strong>", more)) == min(25, page.total - 25)
