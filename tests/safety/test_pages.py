"""Pages: term search, grade choices, lists, participant section, timeline, roles."""

from __future__ import annotations

import re

import pytest

from tests.safety.conftest import base_values, form_data

pytestmark = pytest.mark.django_db


def test_term_search_matches_term_soc_and_meddra_code(client, coordinator):
    client.force_login(coordinator)
    html = client.get("/safety/terms/search/?q=febr").content.decode()
    names = re.findall(r"<strong>([^<]+)</strong>", html)
    assert names[0] == "Febrile neutropenia" and "Fever" not in names
    assert "Febrile neutropenia" in client.get("/safety/terms/search/?q=10016288").content.decode()
    by_soc = client.get("/safety/terms/search/?q=Blood and lymphatic").content.decode()
    assert "Anemia" in by_soc and "Febrile neutropenia" in by_soc
    assert client.get("/safety/terms/search/?q=f").content.decode().strip() == ""
    assert "No CTCAE v5.0 term" in client.get("/safety/terms/search/?q=zzzz").content.decode()


def test_choosing_a_term_offers_only_its_defined_grades_with_their_texts(client, coordinator, terms):
    client.force_login(coordinator)
    fn = client.get(f"/safety/terms/choose/?term={terms['Febrile neutropenia'].pk}").content.decode()
    assert re.findall(r'name="grade" value="(\d)"', fn) == ["3", "4", "5"]
    assert "ANC &lt;1000/mm3" in fn and "Life-threatening consequences" in fn
    death = client.get(f"/safety/terms/choose/?term={terms['Death NOS'].pk}").content.decode()
    assert re.findall(r'name="grade" value="(\d)"', death) == ["5"]
    other = client.get(
        f"/safety/terms/choose/?term={terms['Cardiac disorders - Other, specify'].pk}"
    ).content.decode()
    assert "verbatim term is required" in other
    hypertension = client.get(f"/safety/terms/choose/?term={terms['Hypertension'].pk}").content.decode()
    assert terms["Hypertension"].grade2.split("\n")[1] in hypertension  # multi-line text kept


def test_a_refused_form_keeps_the_chosen_term_and_grades(client, coordinator, dosed_participant, terms):
    client.force_login(coordinator)
    data = form_data(base_values(terms["Febrile neutropenia"], grade=3, serious=True))
    r = client.post(f"/safety/participants/{dosed_participant.pk}/aes/new/", data)
    assert r.status_code == 400
    html = r.content.decode()
    assert re.findall(r'name="grade" value="(\d)"', html) == ["3", "4", "5"]
    assert 'value="3" id="id_grade_3" checked' in html
    assert "Serious requires at least one SAE criterion" in html


def test_lists_section_timeline_and_detail(client, coordinator, make_ae, dosed_participant):
    ae = make_ae("Fatigue", immune_related=True)
    client.force_login(coordinator)
    assert "Fatigue" in client.get("/safety/").content.decode()
    assert "Fatigue" in client.get(f"/safety/participants/{dosed_participant.pk}/aes/").content.decode()
    detail = client.get(f"/participants/{dosed_participant.pk}/").content.decode()
    assert "Adverse events (CTCAE v5.0)" in detail and "Not signed" in detail
    assert f"AE: Fatigue, grade 1 (onset {ae.onset_date})" in detail
    page = client.get(f"/safety/aes/{ae.pk}/").content.decode()
    assert "Fatigue" in page and "Course of this AE" in page and "Not signed" in page


def test_read_only_roles_see_but_cannot_capture(client, monitor, sponsor, make_ae, dosed_participant):
    ae = make_ae("Fatigue")
    for user in (monitor, sponsor):
        client.force_login(user)
        assert client.get(f"/safety/participants/{dosed_participant.pk}/aes/").status_code == 200
        assert client.get(f"/safety/participants/{dosed_participant.pk}/aes/new/").status_code == 403
        assert client.post(f"/safety/aes/{ae.pk}/edit/", {}).status_code == 403
        assert client.post(f"/safety/participants/{dosed_participant.pk}/sign/", {}).status_code == 403


def test_another_site_gets_404(client, other_coordinator, make_ae, dosed_participant):
    ae = make_ae("Fatigue")
    client.force_login(other_coordinator)
    for url in (
        f"/safety/participants/{dosed_participant.pk}/aes/",
        f"/safety/participants/{dosed_participant.pk}/aes/new/",
        f"/safety/aes/{ae.pk}/",
        f"/safety/aes/{ae.pk}/edit/",
        f"/safety/aes/{ae.pk}/change-grade/",
        f"/safety/participants/{dosed_participant.pk}/sign/",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code in (404, 405), url
    assert "Fatigue" not in client.get("/safety/").content.decode()
