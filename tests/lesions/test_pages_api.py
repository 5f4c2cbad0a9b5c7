"""Pages and API of the lesion registry: live preview, 400s, site isolation, CSV and plots."""

from __future__ import annotations

import csv
import io

import pytest

from lesions.models import Assessment
from tests import factories
from tests.lesions.helpers import assess, day, lesion
from tests.lesions.isolation import KWARG_BUILDERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(radiologist, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    t2 = lesion(radiologist, participant, "T2", "lung")
    nt = lesion(radiologist, participant, "NT1", "bone", role="non_target")
    assess(radiologist, participant, day(0), {t1: 50, t2: 50, nt: "present"})
    fu = assess(radiologist, participant, day(56), {t1: 30, t2: 30, nt: "present"})
    fu2 = assess(radiologist, participant, day(112), {t1: 30, t2: 30, nt: "present"})
    return {"t1": t1, "t2": t2, "nt": nt, "fu": fu, "fu2": fu2}


def test_participant_page_shows_matrix_responses_and_rule_codes(client_for, radiologist, participant, course):
    c = client_for(radiologist)
    r = c.get(f"/lesions/participants/{participant.pk}/")
    body = r.content.decode()
    assert r.status_code == 200
    assert "Lesions × assessments" in body and "target_pr" in body and "PR" in body
    r = c.get("/lesions/")
    assert participant.study_id in r.content.decode()
    assert c.get(f"/participants/{participant.pk}/").content.decode().count("Tumour assessment") == 3


def test_live_preview_then_save_changes_the_stored_response(client_for, radiologist, participant, course):
    c = client_for(radiologist)
    fu = course["fu2"]
    t1, t2, nt = course["t1"], course["t2"], course["nt"]
    grid = {
        f"state_{t1.pk}": "measured",
        f"value_{t1.pk}": "45",
        f"state_{t2.pk}": "measured",
        f"value_{t2.pk}": "30",
        f"nt_{nt.pk}": "present",
    }
    r = c.post(f"/lesions/assessments/{fu.pk}/preview/", grid)
    assert r.status_code == 200
    assert 'id="live-recist" class="badge resp-PD">PD<' in r.content.decode()
    assert Assessment.objects.get(pk=fu.pk).recist_response == "PR"
    r = c.post(f"/lesions/assessments/{fu.pk}/", grid)
    assert r.status_code == 400 and "a reason for change is required" in r.content.decode()
    r = c.post(f"/lesions/assessments/{fu.pk}/", {**grid, "reason": "T1 remeasured"})
    assert r.status_code == 302
    fu.refresh_from_db()
    assert (fu.sum_mm, fu.recist_response, fu.irecist_response) == (75.0, "PD", "iUPD")


def test_bad_measurement_gives_400_with_the_message(client_for, radiologist, participant, course):
    c = client_for(radiologist)
    r = c.post(
        f"/lesions/assessments/{course['fu'].pk}/",
        {f"state_{course['t1'].pk}": "measured", f"value_{course['t1'].pk}": "0", "reason": "x"},
    )
    assert r.status_code == 400
    assert "0 mm means disappeared" in r.content.decode()


def test_lesion_form_refuses_a_third_target_in_an_organ(client_for, radiologist, participant, course):
    c = client_for(radiologist)
    lesion(radiologist, participant, "T3", "lung")
    r = c.post(
        f"/lesions/participants/{participant.pk}/lesions/new/",
        {"label": "T4", "organ": "lung", "role": "target"},
    )
    assert r.status_code == 400
    assert "at most 2 per organ" in r.content.decode()


def test_lesion_page_lists_every_number(client_for, radiologist, participant, course):
    r = client_for(radiologist).get(f"/lesions/lesion/{course['t1'].pk}/")
    body = r.content.decode()
    assert r.status_code == 200 and "50.0 mm" in body and "30.0 mm" in body


def test_other_site_gets_404_and_monitor_403(
    client, participant, course, other_coordinator, monitor, radiologist
):
    client.force_login(other_coordinator)
    urls = [
        f"/lesions/participants/{participant.pk}/",
        f"/lesions/assessments/{course['fu'].pk}/",
        f"/lesions/lesion/{course['t1'].pk}/",
        f"/lesions/participants/{participant.pk}/export/responses.csv",
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/lesions/assessments/{course['fu'].pk}/preview/", {}).status_code == 404
    client.force_login(monitor)
    assert client.get(urls[0]).status_code == 200
    assert client.post(f"/lesions/assessments/{course['fu'].pk}/", {}).status_code == 403
    assert client.post(f"/lesions/participants/{participant.pk}/lesions/new/", {}).status_code == 403
    for name, build in KWARG_BUILDERS.items():
        assert build(participant, radiologist) > 0, name


def test_csv_exports_and_plots(client_for, radiologist, participant, course):
    c = client_for(radiologist)
    r = c.get(f"/lesions/participants/{participant.pk}/export/responses.csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [row["recist"] for row in rows] == ["", "PR", "PR"]
    assert rows[1]["sum_mm"] == "60.0" and "target:target_pr" in rows[1]["rule_codes"]
    r = c.get(f"/lesions/participants/{participant.pk}/export/measurements.csv")
    assert len(list(csv.DictReader(io.StringIO(r.content.decode())))) == 9
    r = c.get(f"/lesions/participants/{participant.pk}/plots/sum.png")
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_api_reads_and_write_errors(client_for, radiologist, participant, course):
    c = client_for(radiologist)
    r = c.get(f"/api/v1/lesion-assessments/?participant={participant.pk}")
    data = r.json()
    results = data["results"] if isinstance(data, dict) else data
    assert [a["recist_response"] for a in results] == ["", "PR", "PR"]
    assert results[1]["reasons"]["target"]["code"] == "target_pr"
    r = c.get("/api/v1/lesions/")
    assert r.status_code == 200
    fu = course["fu2"]
    r = c.post(
        f"/api/v1/lesion-assessments/{fu.pk}/measurements/",
        {"measurements": [{"lesion": course["t1"].pk, "state": "measured", "value_mm": "60"}]},
        content_type="application/json",
    )
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    r = c.post(
        f"/api/v1/lesion-assessments/{fu.pk}/measurements/",
        {
            "measurements": [{"lesion": course["t1"].pk, "state": "measured", "value_mm": "60"}],
            "reason": "API correction",
        },
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["recist_response"] == "PD"
    body = {"participant": participant.pk, "label": "T9", "organ": "liver", "role": "target"}
    r = c.post("/api/v1/lesions/", body, content_type="application/json")
    assert r.status_code == 201 and r.json()["label"] == "T9"
    r = c.post("/api/v1/lesions/", {**body, "label": "T10"}, content_type="application/json")
    assert r.status_code == 400 and "at most 2 per organ" in str(r.json()["errors"]["role"])
    r = c.post("/api/v1/lesions/", {**body, "role": "primary"}, content_type="application/json")
    assert r.status_code == 400 and "role" in r.json()["errors"]
    # a target without a baseline measurement makes the engine refuse, with the reason stored
    fu2 = c.get(f"/api/v1/lesion-assessments/{fu.pk}/").json()
    assert fu2["recist_response"] == "" and "target T9 has no baseline measurement" in fu2["engine_error"]


def test_sponsor_cannot_write_through_the_api(client_for, sponsor, participant, course):
    r = client_for(sponsor).post(
        "/api/v1/lesions/",
        {"participant": participant.pk, "label": "X", "organ": "a", "role": "non_target"},
        content_type="application/json",
    )
    assert r.status_code == 403


def test_other_site_cannot_see_lesions_in_the_api(client_for, other_coordinator, participant, course):
    data = client_for(other_coordinator).get("/api/v1/lesions/").json()
    results = data["results"] if isinstance(data, dict) else data
    assert results == []
    factories.make_site("BE01")
