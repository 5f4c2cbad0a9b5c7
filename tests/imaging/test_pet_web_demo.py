"""The PET demo: generated series at both time points go through the real pipeline and produce results."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from django.utils import timezone

from imaging.demo import build_demo
from imaging.models import LinkedCt, SeriesUpload, UploadState, Voi, VoiResult
from imaging.selectors import distribution_rows
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_demo_ingests_baseline_and_on_treatment_series_with_organ_and_lesion_vois(
    pet_web_media, coordinator, radiologist, site_nl, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    participant = factories.enrol(
        coordinator,
        site_nl,
        enrolment_date=today - dt.timedelta(days=90),
        treatment_start=today - dt.timedelta(days=60),
    )
    for code in ("BL_TRACER", "OT_TRACER"):
        planned = factories.visit(participant, code).planned_date
        factories.record_tracer_dose(
            coordinator,
            participant,
            code=code,
            when=dt.datetime.combine(planned, dt.time(8, 40), tzinfo=dt.UTC),
        )
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        build_demo([participant], {"radiologist_NL01": radiologist}, random.Random(1))
    elapsed = time.monotonic() - started
    uploads = SeriesUpload.objects.filter(participant=participant)
    assert uploads.count() == 4
    assert set(uploads.values_list("state", flat=True)) == {UploadState.DONE}
    # The generated series match the dosing record: no warnings (only informational findings at most).
    assert not participant.imaging_findings.filter(severity__in=["warning", "error"]).exists()
    assert Voi.objects.filter(participant=participant, kind="organ").count() == 16
    assert Voi.objects.filter(participant=participant, kind="lesion").count() == 12
    assert VoiResult.objects.filter(participant=participant).count() == 28
    rows = distribution_rows(participant)
    blood = sorted(
        (r["hours"], r["suv_mean"]) for r in rows if r["organ"] == "blood_pool" and r["phase"] == "baseline"
    )
    assert blood[0][0] == pytest.approx(48, abs=3.01) and blood[1][0] == pytest.approx(144, abs=3.01)
    assert blood[1][1] < blood[0][1]  # blood pool clears between day 2 and day 6
    assert elapsed < 60
    # The first baseline PET came with the CT of its PET/CT: linked on the same frame of reference.
    (linked,) = LinkedCt.objects.filter(participant=participant)
    assert (
        linked.scan.visit.code == "BL_PET1"
        and linked.frame_of_reference_uid == linked.upload.frame_of_reference_uid
    )
    assert linked.instance_count == 53 and linked.geometry["spacing"] == [2.0, 2.0, 3.0]
    with django_capture_on_commit_callbacks(execute=True):
        build_demo([participant], {"radiologist_NL01": radiologist}, random.Random(1))  # idempotent
    assert SeriesUpload.objects.filter(participant=participant).count() == 4
