"""The coordinator's casebook pages: the participant section, a list, a form with its error summary, edit, void."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from casebook.models import LabResult

pytestmark = pytest.mark.django_db


def test_a_coordinator_records_edits_and_voids_a_lab_result_through_the_pages(
    client_for, coordinator, participant, other_coordinator
):
    client = client_for(coordinator)
    new = reverse("casebook:record_new", args=[participant.pk, "labs"])
    day = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    form = {
        "panel": "haematology",
        "collected_on": day,
        "test_code": "PLAT",
        "value": "40",
        "unit": "10^9/L",
        "lln": "150",
        "uln": "400",
    }
    bad = client.post(new, {**form, "unit": "mg/dL"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Please correct the following" in text and "cannot be used for PLAT" in text
    assert "test_code:" not in text and "unit:" not in text  # labels, not field names
    ok = client.post(new, form)
    assert ok.status_code == 302 and ok["Location"] == reverse(
        "casebook:record_list", args=[participant.pk, "labs"]
    )
    lab = LabResult.objects.get()
    # "<50,000 - 25,000/mm3; <50.0 - 25.0 x 10e9 /L" -> grade 3.
    assert (lab.ctcae_grade, lab.ctcae_term) == (3, "Platelet count decreased")
    listing = client.get(ok["Location"]).content.decode()
    assert (
        "Platelets" in listing
        and "Platelet count decreased" in listing
        and "grade 3 without a matching AE" in listing
    )
    edit = reverse("casebook:record_edit", args=["labs", lab.pk])
    assert client.post(edit, {**form, "value": "60", "version": "1"}).status_code == 400  # reason required
    assert (
        client.post(
            edit, {**form, "value": "60", "version": "1", "reason": "Transcription error"}
        ).status_code
        == 302
    )
    lab.refresh_from_db()
    assert (lab.version, lab.ctcae_grade) == (2, 2)
    void = reverse("casebook:record_void", args=["labs", lab.pk])
    assert "Void this record" in client.get(void).content.decode()
    assert client.post(void, {"reason": "Duplicate", "version": "2"})["Location"].endswith("/labs/")
    lab.refresh_from_db()
    assert lab.voided
    other = client_for(other_coordinator)
    assert other.get(reverse("casebook:record_list", args=[participant.pk, "labs"])).status_code == 404
    assert other.get(edit).status_code == 404


def test_the_screening_log_page_records_a_failure_and_counts_it_per_site(client_for, coordinator, site_nl):
    client = client_for(coordinator)
    day = timezone.localdate().isoformat()
    bad = client.post(
        "/casebook/screening-log/", {"site": site_nl.pk, "screened_on": day, "age_band": "60-69"}
    )
    assert bad.status_code == 400 and "Choose the criteria not met" in bad.content.decode()
    ok = client.post(
        "/casebook/screening-log/",
        {"site": site_nl.pk, "screened_on": day, "age_band": "60-69", "failed_criteria": ["E3", "I4"]},
    )
    assert ok.status_code == 302
    page = client.get("/casebook/screening-log/").content.decode()
    assert "E3: 1" in page and "I4: 1" in page and "60-69" in page
