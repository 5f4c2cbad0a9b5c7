"""The participant PK page, its plot cache and TIAC export, the cohort page and CSV, access."""

from __future__ import annotations

import csv
import io
import math
import re
import statistics

import pytest
from django.core.cache import cache
from django.urls import reverse

from kinetics import plots as kinetics_plots
from kinetics.models import DosimetryExport
from tests.kinetics import builders
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db
LAMBDA = math.log(2.0) / 78.41


def cells(html: str, label: str) -> list[str]:
    """Texts of the cells of the parameter-table row of a series on the page."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        if f"<td>{label}</td>" in row and "Baseline injection" in row:
            return [
                re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
            ]
    raise AssertionError(f"no row for {label}")


def test_the_participant_page_recovers_the_designed_half_lives_in_both_views(client, pk_trial, monkeypatch):
    client.force_login(pk_trial["radiologist"])
    url = reverse("kinetics:participant", args=[pk_trial["pk"].pk])
    page = client.get(url + "?metric=suv_mean&model=mono").content.decode()
    row = cells(page, "Blood pool")
    # injection, series, points, model, half-lives, T_eff, T_bio: T_bio 60 h, T_eff 1/(1/60 + 1/78.41) = 33.99 h
    assert row[2:7] == ["4", "mono", "60.0", "34.0", "60.0"]
    uncorrected = cells(
        client.get(url + "?metric=kbq_ml&view=uncorrected&model=mono").content.decode(), "Blood pool"
    )
    assert uncorrected[4:7] == ["34.0", "34.0", "60.0"]  # fitted = effective; biological recovered
    # Serum from the casebook's PK samples: 7 samples, bi-exponential 1.5 h and 70 h (kBq/mL, decay-corrected).
    serum = cells(client.get(url + "?metric=kbq_ml").content.decode(), "Serum (PK samples)")
    assert serum[2:7] == ["7", "bi", "1.5, 70.0", "37.0", "70.0"]  # T_eff 1/(1/70 + 1/78.41) = 36.98
    assert "78.41 h" in page and "whole-organ" in page
    # kBq/mL decay-corrected = SUV x injected MBq / weight kg (blood pool at 24 h).
    assert f"{builders.blood(24.0) * builders.INJECTED_MBQ / builders.WEIGHT_KG:.3f}" in page
    # %ID in the whole-organ liver at 24 h: 100 * SUV * 1500 mL / 75000 g.
    assert f"{100 * builders.liver(24.0) * 1500 / 75000:.3f}" in page

    cache.clear()  # a PNG drawn by an earlier run of the same data would be served from Redis
    drawn = []
    real = kinetics_plots.participant_png
    monkeypatch.setattr(kinetics_plots, "participant_png", lambda *a, **k: drawn.append(1) or real(*a, **k))
    png_url = reverse("kinetics:participant_plot", args=[pk_trial["pk"].pk]) + "?metric=pct_id_kg"
    first, second = client.get(png_url), client.get(png_url)
    assert first["Content-Type"] == "image/png" and first.content[:4] == b"\x89PNG"
    assert second.content == first.content and len(drawn) == 1  # cached by the data's version


def test_the_tiac_export_matches_the_analytic_integral_and_is_recorded(client, pk_trial):
    client.force_login(pk_trial["radiologist"])
    person = pk_trial["pk"]
    response = client.post(
        reverse("kinetics:tiac_export", args=[person.pk]), {"tracer": "BL_TRACER", "method": "mono_fit"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Organ", "TIAC (h)"]
    tiac = {organ: float(value) for organ, value in rows[1:]}
    # Blood: sphere VOI scaled to the ICRP 89 female blood volume 3900 mL: f(t) = SUV * 3900 / 75000.
    blood_tiac = 10.0 * 3900 / 75000 / (math.log(2) / 60 + LAMBDA)  # 25.50 h
    liver_tiac = 4.0 * 1500 / 75000 / (math.log(2) / 200 + LAMBDA)  # whole-organ mask: 6.501 h
    assert tiac["Blood"] == pytest.approx(blood_tiac, rel=1e-5)
    assert tiac["Liver"] == pytest.approx(liver_tiac, rel=1e-5)
    assert tiac["Remainder of body"] == pytest.approx(1 / LAMBDA - blood_tiac - liver_tiac, rel=1e-5)
    export = DosimetryExport.objects.get(participant=person)
    assert export.method == "mono_fit" and "ICRP 89" in export.method_text
    assert AuditEntry.objects.filter(model="dosimetryexport", object_id=str(export.pk)).exists()


def test_the_cohort_page_compares_paired_scans_and_its_csv_is_the_plotted_data(client, pk_trial):
    client.force_login(pk_trial["radiologist"])
    page = client.get(reverse("kinetics:cohort")).content.decode()
    diffs = builders.BLOOD_SHIFT
    walsh = [(diffs[i] + diffs[j]) / 2 for i in range(6) for j in range(i, 6)]
    row = next(
        r
        for r in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
        if "SUVmean at 48 h" in r and "Blood pool" in r
    )
    texts = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, flags=re.S)]
    assert texts[2] == "6"  # n pairs
    assert texts[5] == f"{statistics.median(walsh):.3f}"  # Hodges-Lehmann shift
    data = list(csv.reader(io.StringIO(client.get(reverse("kinetics:cohort_csv")).content.decode())))
    # 5 participants x 2 injections x 2 scans + participant 0 with 4 scans each; blood, liver and tumour.
    assert len(data) - 1 == (5 * 4 + 8) * 3
    assert client.get(reverse("kinetics:cohort_plot"))["Content-Type"] == "image/png"


def test_access_is_scoped_and_writes_need_the_imaging_role(client, pk_trial):
    person = pk_trial["pk"]
    client.force_login(pk_trial["outsider"])
    assert client.get(reverse("kinetics:participant", args=[person.pk])).status_code == 404
    assert "Blood pool" not in client.get(reverse("kinetics:cohort")).content.decode()
    client.force_login(pk_trial["monitor"])
    assert client.get(reverse("kinetics:participant", args=[person.pk])).status_code == 200
    export = reverse("kinetics:tiac_export", args=[person.pk])
    assert client.get(export).status_code == 405
    assert client.post(export, {"tracer": "BL_TRACER", "method": "trapezoid"}).status_code == 403
    assert not DosimetryExport.objects.exists()
    detail = client.get(reverse("participant_detail", args=[person.pk])).content.decode()
    assert reverse("kinetics:participant", args=[person.pk]) in detail
