"""Safety tables against a hand-counted dataset.

Participants (all enrolled, each with a tracer dose):
  P1 NL01 nivolumab : Diarrhea 1 -> 3 (grade change), Nausea 2, Pruritus 1 (irAE)
  P2 NL01 cetrelimab: Nausea 1, Colitis 3 (SAE, irAE), Fatigue 2
  P3 BE01 nivolumab : Diarrhea 2, Fatigue 1, Fatigue 1 (second episode), Pruritus 2 (irAE)
  P4 BE01 nivolumab : no AE
  P5 NL01 nivolumab : Vomiting 4 (voided: not counted; P5 stays in the denominator)
Hand count, all sites (N = 5), by maximum grade per participant:
  Gastrointestinal disorders  3 (60.0%): max grade 2 = 1 (P3), 3 = 2 (P1, P2); grade >= 3: 2 (40.0%)
    Diarrhea 2 (40.0%): g2 P3, g3 P1;  Nausea 2 (40.0%): g1 P2, g2 P1;  Colitis 1 (20.0%): g3 P2
  General disorders ...       2 (40.0%): g1 P3, g2 P2;  Fatigue the same
  Skin and subcutaneous ...   2 (40.0%): g1 P1, g2 P3;  Pruritus the same
"""

from __future__ import annotations

import csv
import io

import pytest

from safety import services
from safety.presentation import tables_context
from tests import factories
from tests.safety.conftest import base_values, days_ago
from trial import services as trial_services

pytestmark = pytest.mark.django_db
GI, GEN, SKIN = (
    "Gastrointestinal disorders",
    "General disorders and administration site conditions",
    "Skin and subcutaneous tissue disorders",
)


@pytest.fixture
def dataset(coordinator, other_coordinator, site_nl, site_be, terms):
    def enrol(user, site, drug):
        p = factories.enrol(user, site, drug=drug)
        factories.record_tracer_dose(user, p)
        return p

    p1, p2 = enrol(coordinator, site_nl, "nivolumab"), enrol(coordinator, site_nl, "cetrelimab")
    p3, p4 = enrol(other_coordinator, site_be, "nivolumab"), enrol(other_coordinator, site_be, "nivolumab")
    p5 = enrol(coordinator, site_nl, "nivolumab")
    nl, be = factories.ctx_for(coordinator), factories.ctx_for(other_coordinator)

    def ae(ctx, p, term, grade, **kw):
        return services.ae_create(ctx=ctx, participant=p, values=base_values(terms[term], grade=grade, **kw))

    d = ae(nl, p1, "Diarrhea", 1, end_date="", ongoing=True)
    services.ae_change_grade(ctx=nl, ae=d, values={"grade": 3, "onset_date": days_ago(6)}, reason="Worse")
    ae(nl, p1, "Nausea", 2)
    ae(nl, p1, "Pruritus", 1, immune_related=True)
    ae(nl, p2, "Nausea", 1)
    ae(nl, p2, "Colitis", 3, serious=True, sae_hospitalisation=True, immune_related=True)
    ae(nl, p2, "Fatigue", 2)
    ae(be, p3, "Diarrhea", 2)
    ae(be, p3, "Fatigue", 1)
    ae(be, p3, "Fatigue", 1, onset_date=days_ago(4), end_date=days_ago(2))
    ae(be, p3, "Pruritus", 2, immune_related=True)
    v = ae(nl, p5, "Vomiting", 4, serious=True, sae_life_threatening=True)
    trial_services.record_void(ctx=nl, instance=v, reason="Entered on the wrong participant")
    return {"p1": p1, "p2": p2, "p3": p3, "p4": p4, "p5": p5}


def table(lines):
    return {
        (r["line"].soc, r["line"].term): (r["any"], r["pct"], r["by_grade"], r["g3"], r["g3_pct"])
        for r in lines
    }


def test_incidence_all_sites_equals_the_hand_count(dataset, data_manager):
    ctx = tables_context(user=data_manager, filters={})
    assert (ctx["n"], ctx["any_ae"], ctx["any_grade3"]) == (5, 3, 2)
    assert [(r["line"].soc, r["line"].term) for r in ctx["incidence"]] == [
        (GI, ""),
        (GI, "Diarrhea"),
        (GI, "Nausea"),
        (GI, "Colitis"),
        (GEN, ""),
        (GEN, "Fatigue"),
        (SKIN, ""),
        (SKIN, "Pruritus"),
    ]
    assert table(ctx["incidence"]) == {
        (GI, ""): (3, 60.0, [0, 1, 2, 0, 0], 2, 40.0),
        (GI, "Diarrhea"): (2, 40.0, [0, 1, 1, 0, 0], 1, 20.0),
        (GI, "Nausea"): (2, 40.0, [1, 1, 0, 0, 0], 0, 0.0),
        (GI, "Colitis"): (1, 20.0, [0, 0, 1, 0, 0], 1, 20.0),
        (GEN, ""): (2, 40.0, [1, 1, 0, 0, 0], 0, 0.0),
        (GEN, "Fatigue"): (2, 40.0, [1, 1, 0, 0, 0], 0, 0.0),
        (SKIN, ""): (2, 40.0, [1, 1, 0, 0, 0], 0, 0.0),
        (SKIN, "Pruritus"): (2, 40.0, [1, 1, 0, 0, 0], 0, 0.0),
    }
    assert table(ctx["grade3"]) == {
        (GI, ""): (2, 40.0, [0, 0, 2, 0, 0], 2, 40.0),
        (GI, "Diarrhea"): (1, 20.0, [0, 0, 1, 0, 0], 1, 20.0),
        (GI, "Colitis"): (1, 20.0, [0, 0, 1, 0, 0], 1, 20.0),
    }
    assert [(a.participant.study_id, a.term.term) for a in ctx["saes"]] == [
        (dataset["p2"].study_id, "Colitis")
    ]
    assert sorted((a.participant.study_id, a.term.term) for a in ctx["iraes"]) == sorted(
        [
            (dataset["p1"].study_id, "Pruritus"),
            (dataset["p2"].study_id, "Colitis"),
            (dataset["p3"].study_id, "Pruritus"),
        ]
    )


def test_filters_by_site_and_drug_equal_the_hand_count(dataset, sponsor):
    nl = tables_context(user=sponsor, filters={"site": "NL01"})  # P1, P2, P5
    assert nl["n"] == 3
    assert table(nl["incidence"])[(GI, "")] == (2, 66.7, [0, 0, 2, 0, 0], 2, 66.7)
    assert table(nl["incidence"])[(GI, "Nausea")] == (2, 66.7, [1, 1, 0, 0, 0], 0, 0.0)
    cetrelimab = tables_context(user=sponsor, filters={"drug": "cetrelimab"})  # P2
    assert cetrelimab["n"] == 1
    assert table(cetrelimab["incidence"])[(GEN, "Fatigue")] == (1, 100.0, [0, 1, 0, 0, 0], 0, 0.0)
    be_nivo = tables_context(user=sponsor, filters={"site": "BE01", "drug": "nivolumab"})  # P3, P4
    assert be_nivo["n"] == 2
    assert table(be_nivo["incidence"]) == {
        (GI, ""): (1, 50.0, [0, 1, 0, 0, 0], 0, 0.0),
        (GI, "Diarrhea"): (1, 50.0, [0, 1, 0, 0, 0], 0, 0.0),
        (GEN, ""): (1, 50.0, [1, 0, 0, 0, 0], 0, 0.0),
        (GEN, "Fatigue"): (1, 50.0, [1, 0, 0, 0, 0], 0, 0.0),
        (SKIN, ""): (1, 50.0, [0, 1, 0, 0, 0], 0, 0.0),
        (SKIN, "Pruritus"): (1, 50.0, [0, 1, 0, 0, 0], 0, 0.0),
    }
    assert list(be_nivo["saes"]) == [] and be_nivo["grade3"] == []  # saes: a queryset, paged on the page


def test_a_site_user_only_counts_their_own_site(dataset, other_coordinator):
    be = tables_context(user=other_coordinator, filters={})
    assert be["n"] == 2 and table(be["incidence"])[(GI, "")][0] == 1


def test_the_page_csv_and_plot(dataset, client, data_manager):
    client.force_login(data_manager)
    page = client.get("/safety/tables/").content.decode()
    assert "N = 5" in page and "Gastrointestinal disorders" in page and "3 (60.0%)" in page
    rows = list(
        csv.DictReader(io.StringIO(client.get("/safety/tables/csv/?table=incidence").content.decode()))
    )
    diarrhea = next(r for r in rows if r["term"] == "Diarrhea")
    assert (
        diarrhea["n_participants"],
        diarrhea["percent"],
        diarrhea["max_grade_2"],
        diarrhea["max_grade_3"],
        diarrhea["population_n"],
    ) == ("2", "40.0", "1", "1", "5")
    plot_rows = list(
        csv.DictReader(
            io.StringIO(client.get("/safety/tables/csv/?table=max_grade_by_soc&site=NL01").content.decode())
        )
    )
    assert {r["soc"]: [r[f"grade_{g}"] for g in range(1, 6)] for r in plot_rows} == {
        GI: ["0", "0", "2", "0", "0"],
        GEN: ["0", "1", "0", "0", "0"],
        SKIN: ["1", "0", "0", "0", "0"],
    }
    sae = list(csv.DictReader(io.StringIO(client.get("/safety/tables/csv/?table=sae").content.decode())))
    assert [(r["participant"], r["term"], r["sae_criteria"]) for r in sae] == [
        (dataset["p2"].study_id, "Colitis", "Requires or prolongs hospitalisation")
    ]
    irae = client.get("/safety/tables/csv/?table=irae&drug=nivolumab").content.decode()
    assert irae.count("Pruritus") == 2 and "Colitis" not in irae
    png = client.get("/safety/tables/max-grade-by-soc.png?site=BE01")
    assert (
        png["Content-Type"] == "image/png"
        and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        and len(png.content) > 5000
    )
    assert client.get("/safety/tables/csv/?table=nope").status_code == 404
