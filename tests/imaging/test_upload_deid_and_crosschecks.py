"""De-identification (nothing identifying stored, SUV unchanged) and the trial cross-checks of an upload."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pydicom
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection

from imaging import services
from imaging.models import Finding, ScanStatus, SeriesUpload, UploadState
from quant.pet.series import read_pet_series
from quant.pet.suv import ZR89_HALF_LIFE_S, compute_suv
from tests import factories
from tests.imaging.conftest import PHANTOM_INJECTION_UTC, enrol_for_phantom

pytestmark = pytest.mark.django_db


def ingest(user, scan, directory: Path, tmp_path: Path):
    files = [(p, p.name) for p in sorted(directory.iterdir())]
    work = tmp_path / f"work-{len(list(tmp_path.iterdir()))}"
    work.mkdir()
    return services.series_upload_ingest(ctx=factories.ctx_for(user), scan=scan, files=files, work_dir=work)


def codes(upload) -> dict[str, str]:
    return {f.code: f.severity for f in Finding.objects.filter(upload=upload)}


def test_no_identifying_value_is_left_in_any_stored_file_or_row_and_suv_is_unchanged(
    pet_web_trial, pet_web_series, tmp_path
):
    info, directory = pet_web_series()
    original_uids = {info.uids["study"], info.uids["series"], info.uids["frame"]}
    original_uids |= {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in info.files}
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)

    forbidden = [v for v in info.identifiers.values() if len(v) >= 6] + sorted(original_uids)
    forbidden += ["Kowalczyk", "Magdalena", "MRN-00482917", "19580412"]
    stored_paths = [default_storage.path(i.path) for i in upload.instances.all()]
    for path in stored_paths:
        data = Path(path).read_bytes()
        for value in forbidden:
            assert value.encode() not in data, (value, path)
        ds = pydicom.dcmread(path)
        assert ds.PatientName == pet_web_trial.participant.study_id
        assert ds.PatientID == pet_web_trial.participant.study_id
        assert ds.PatientIdentityRemoved == "YES"
        assert float(ds.PatientWeight) == 75.0  # retained patient characteristics
        assert ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime  # retained dates
    # Every database row the upload wrote (upload, instances, findings, audit trail) is free of them too.
    with connection.cursor() as cursor:
        dump = []
        for table in (
            "imaging_seriesupload",
            "imaging_storedinstance",
            "imaging_finding",
            "trial_auditentry",
        ):
            cursor.execute(f"SELECT row_to_json(t)::text FROM {table} t")  # noqa: S608 - fixed table names
            dump += [row[0] for row in cursor.fetchall()]
    text = json.dumps(dump)
    for value in forbidden:
        assert value not in text, value
    # SUV factor and decay interval: before == after, and equal to the phantom's truth.
    assert upload.suv_before_deid["suv_bw_factor"] == upload.suv_after_deid["suv_bw_factor"]
    assert upload.suv_before_deid["decay_time_s"] == upload.suv_after_deid["decay_time_s"]
    stored = read_pet_series(stored_paths)
    assert compute_suv(stored.header).suv_bw_factor == pytest.approx(info.suv_bw_factor, rel=1e-9)
    # Stored UIDs are remapped consistently: the same source maps to the same UID on every slice.
    assert len({pydicom.dcmread(p, stop_before_pixels=True).SeriesInstanceUID for p in stored_paths}) == 1
    assert upload.series_instance_uid not in original_uids


def test_a_matching_dosing_record_raises_no_warning(pet_web_trial, pet_web_series, tmp_path):
    _info, directory = pet_web_series()
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)
    assert [s for s in codes(upload).values() if s != "info"] == []


def test_injection_time_and_activity_mismatches_are_flagged_and_the_dosing_record_is_used(
    coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path
):
    when = PHANTOM_INJECTION_UTC + dt.timedelta(minutes=5)
    participant, scan, _dose = enrol_for_phantom(coordinator, site_nl, when=when, dose_mbq="38.5")  # net 38.0
    info, directory = pet_web_series()
    upload = ingest(radiologist, scan, directory, tmp_path)
    found = codes(upload)
    assert found["INJECTION_TIME_MISMATCH"] == "warning"
    assert found["ACTIVITY_MISMATCH"] == "warning"
    decay = 48 * 3600 - 300
    expected = 75_000 / (38.0e6 * 2 ** (-decay / ZR89_HALF_LIFE_S))
    assert upload.suv_before_deid["suv_bw_factor"] == pytest.approx(expected, rel=1e-9)
    assert upload.suv_before_deid["decay_time_s"] == pytest.approx(decay, abs=1e-6)
    assert upload.state == UploadState.STORED


def test_within_tolerance_is_not_flagged(
    coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path
):
    when = PHANTOM_INJECTION_UTC + dt.timedelta(seconds=50)
    _participant, scan, _dose = enrol_for_phantom(
        coordinator, site_nl, when=when, dose_mbq="38.0"
    )  # net 37.5 (+1.4 %)
    _info, directory = pet_web_series()
    found = codes(ingest(radiologist, scan, directory, tmp_path))
    assert "INJECTION_TIME_MISMATCH" not in found and "ACTIVITY_MISMATCH" not in found


def test_weight_mismatch_with_the_recorded_weight(
    coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path
):
    _participant, scan, _dose = enrol_for_phantom(coordinator, site_nl, weight_kg="82.0")
    _info, directory = pet_web_series()
    found = codes(ingest(radiologist, scan, directory, tmp_path))
    assert found["WEIGHT_MISMATCH"] == "warning"


def test_a_scan_just_outside_the_planned_window_is_a_warning(
    coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path
):
    when = dt.datetime(2025, 3, 14, 9, 15, tzinfo=dt.UTC) - dt.timedelta(hours=80)
    _participant, scan, _dose = enrol_for_phantom(coordinator, site_nl, when=when)
    _info, directory = pet_web_series(hours_post_injection=80)
    upload = ingest(radiologist, scan, directory, tmp_path)
    assert codes(upload)["SCAN_OUT_OF_WINDOW"] == "warning"  # 8 h past 24-72 h, within the 12 h tolerance
    assert upload.suv_parameters["hours_post_injection"] == pytest.approx(80.0)
    assert upload.state == UploadState.STORED


def test_a_scan_far_outside_the_planned_window_is_blocked(
    coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path
):
    when = dt.datetime(2025, 3, 14, 9, 15, tzinfo=dt.UTC) - dt.timedelta(hours=100)
    _participant, scan, _dose = enrol_for_phantom(coordinator, site_nl, when=when)
    _info, directory = pet_web_series(hours_post_injection=100)
    upload = ingest(radiologist, scan, directory, tmp_path)
    assert codes(upload)["SCAN_FAR_OUTSIDE_WINDOW"] == "error"  # was a warning before the block
    assert upload.state == UploadState.BLOCKED
    assert upload.suv_parameters["hours_post_injection"] == pytest.approx(100.0)


def test_a_half_life_that_is_not_zr89_blocks_the_upload_and_rejects_the_scan(
    pet_web_trial, pet_web_series, tmp_path
):
    _info, directory = pet_web_series(half_life_s=ZR89_HALF_LIFE_S * 1.01)
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)
    assert codes(upload)["HALF_LIFE_NOT_ZR89"] == "error"
    assert upload.state == UploadState.BLOCKED
    pet_web_trial.scan.refresh_from_db()
    assert pet_web_trial.scan.status == ScanStatus.REJECTED


def test_a_time_only_injection_takes_its_date_from_the_dosing_record(pet_web_trial, pet_web_series, tmp_path):
    info, directory = pet_web_series(injection="time_only")
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)
    assert codes(upload)["INJECTION_DATE_FROM_DOSING"] == "info"
    assert upload.suv_before_deid["decay_time_s"] == pytest.approx(48 * 3600, abs=1e-6)
    assert upload.suv_before_deid["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)
    # A time-of-day-only reading would be x0.654 too low at 48 h: the factor proves the date was used.
    assert math.isclose(2 ** (-48 / 78.41), 0.654, abs_tol=1e-3)


def test_a_time_only_injection_without_a_dosing_record_is_refused(
    coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path
):
    _participant, scan, _dose = enrol_for_phantom(coordinator, site_nl, record_dose=False)
    _info, directory = pet_web_series(injection="time_only")
    with pytest.raises(ValidationError) as exc:
        ingest(radiologist, scan, directory, tmp_path)
    assert "record the dose first" in str(exc.value)
    assert SeriesUpload.objects.count() == 0
