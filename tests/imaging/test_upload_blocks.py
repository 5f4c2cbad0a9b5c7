"""Wrong-patient and impossible PET series are blocked (not warned) and only an audited override lets them through."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from imaging import services
from imaging.demo import _shift_times
from imaging.models import Finding, ScanStatus, SeriesUpload, UploadState, VoiResult
from quant.pet.suv import ZR89_HALF_LIFE_S
from tests import factories
from tests.imaging.conftest import PHANTOM_INJECTION_UTC, enrol_for_phantom
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def ingest(user, scan, directory: Path, tmp_path: Path):
    files = [(p, p.name) for p in sorted(directory.iterdir())]
    work = tmp_path / f"work-{len(list(tmp_path.iterdir()))}"
    work.mkdir()
    return services.series_upload_ingest(ctx=factories.ctx_for(user), scan=scan, files=files, work_dir=work)


def errors(upload) -> dict[str, str]:
    return {f.code: f.message for f in Finding.objects.filter(upload=upload, severity="error")}


@pytest.fixture
def wrong_patient(coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path):
    """The reported case: another participant's series (95.9 kg against 52.8 kg, injection 59 days off)."""
    _participant, scan, _dose = enrol_for_phantom(coordinator, site_nl, weight_kg="52.8")
    info, directory = pet_web_series(weight_kg=95.9)
    _shift_times(info.files, dt.timedelta(days=59))  # scanned 59 days after the recorded injection
    return scan, directory


def test_a_wrong_patient_series_is_blocked_and_nothing_is_analysed(
    wrong_patient, radiologist, tmp_path, django_capture_on_commit_callbacks
):
    scan, directory = wrong_patient
    with django_capture_on_commit_callbacks(execute=True) as queued:
        upload = ingest(radiologist, scan, directory, tmp_path)
    assert queued == []  # never queued for the worker
    upload.refresh_from_db()
    scan.refresh_from_db()
    found = errors(upload)
    assert set(found) == {"INJECTION_DATE_MISMATCH", "SCAN_FAR_OUTSIDE_WINDOW", "WEIGHT_CONTRADICTS_RECORD"}
    assert found["WEIGHT_CONTRADICTS_RECORD"] == (
        "PatientWeight 95.9 kg differs from the recorded weight 52.8 kg (baseline, recorded 2025-02-18) "
        "by 82 % (limit 20 %)."
    )
    assert (
        "differs from the dosing record of BL_TRACER (2025-03-12 10:15) by 59.0 days (limit 1 day)"
        in (found["INJECTION_DATE_MISMATCH"])
    )
    assert "1464.0 h after the recorded injection" in found["SCAN_FAR_OUTSIDE_WINDOW"]
    assert "(limit 12 h)" in found["SCAN_FAR_OUTSIDE_WINDOW"]
    assert upload.state == UploadState.BLOCKED and upload.state_message.startswith(
        "Blocked, nothing analysed:"
    )
    assert "PatientWeight 95.9 kg" in upload.state_message
    assert upload.suv_summary == {} and not upload.mip_path and upload.processed_at is None
    assert VoiResult.objects.count() == 0
    assert scan.status == ScanStatus.REJECTED and scan.acquired_at is None
    assert services.series_process(upload.pk) == {"skipped": UploadState.BLOCKED}


def test_each_block_alone_and_just_below_its_limit(
    coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path
):
    cases = [  # (recorded weight, injection offset h, expected blocking codes)
        ("60.0", 0, {"WEIGHT_CONTRADICTS_RECORD"}),  # 75 kg is 25 % above 60 kg
        ("63.0", 0, set()),  # 19 %: a warning only
        ("75.0", 25, {"INJECTION_DATE_MISMATCH"}),  # 25 h earlier; scan 73 h: 1 h out of window, a warning
        ("75.0", 23, set()),
    ]
    _info, directory = pet_web_series()
    for weight, offset_h, expected in cases:
        when = PHANTOM_INJECTION_UTC - dt.timedelta(hours=offset_h)
        _p, scan, _d = enrol_for_phantom(coordinator, site_nl, when=when, weight_kg=weight)
        upload = ingest(radiologist, scan, directory, tmp_path)
        assert set(errors(upload)) == expected, (weight, offset_h)
        assert upload.state == (UploadState.BLOCKED if expected else UploadState.STORED)


def test_the_limits_come_from_settings(
    settings, coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path
):
    _info, directory = pet_web_series()
    _p, scan, _d = enrol_for_phantom(coordinator, site_nl, weight_kg="60.0")  # header 75 kg: 25 %
    assert ingest(radiologist, scan, directory, tmp_path).state == UploadState.BLOCKED
    settings.PET_BLOCK_WEIGHT_PCT = 30
    _p, scan, _d = enrol_for_phantom(coordinator, site_nl, weight_kg="60.0")
    upload = ingest(radiologist, scan, directory, tmp_path)
    assert upload.state == UploadState.STORED
    assert Finding.objects.get(upload=upload, code="WEIGHT_MISMATCH").severity == "warning"


def test_the_limit_settings_are_read_from_the_environment():
    code = (
        "from config import settings as s; "
        "print(s.PET_BLOCK_INJECTION_DAYS, s.PET_BLOCK_WINDOW_TOLERANCE_H, s.PET_BLOCK_WEIGHT_PCT)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PET_BLOCK_")}
    default = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert default.stdout.split() == ["1.0", "12.0", "20.0"], default.stderr
    env |= {
        "PET_BLOCK_INJECTION_DAYS": "2",
        "PET_BLOCK_WINDOW_TOLERANCE_H": "6",
        "PET_BLOCK_WEIGHT_PCT": "15",
    }
    changed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert changed.stdout.split() == ["2.0", "6.0", "15.0"], changed.stderr


def test_a_radiologist_overrides_with_a_reason_audited_and_processing_proceeds(
    wrong_patient, radiologist, tmp_path, django_capture_on_commit_callbacks
):
    scan, directory = wrong_patient
    upload = ingest(radiologist, scan, directory, tmp_path)
    ctx = factories.ctx_for(radiologist)
    with pytest.raises(ValidationError, match="Say why"):
        services.upload_override(ctx=ctx, upload=upload, reason="  ")
    reason = "Weight and dosing date confirmed on the source PACS; dosing record under query"
    with django_capture_on_commit_callbacks(execute=True) as queued:
        services.upload_override(ctx=ctx, upload=upload, reason=reason)
    assert len(queued) == 1
    upload.refresh_from_db()
    scan.refresh_from_db()
    assert upload.state == UploadState.DONE, upload.state_message
    assert upload.override_reason == reason and upload.override_by == radiologist and upload.override_at
    assert scan.status == ScanStatus.ANALYSED and scan.acquired_at is not None
    entry = AuditEntry.objects.filter(model="seriesupload", object_id=str(upload.pk), action="update").first()
    assert entry.user == radiologist and reason in entry.reason
    assert "WEIGHT_CONTRADICTS_RECORD" in entry.reason
    assert entry.changes["state"] == [UploadState.BLOCKED, UploadState.STORED]
    assert entry.changes["override_reason"] == ["", reason]
    with pytest.raises(ValidationError, match="not blocked"):
        services.upload_override(ctx=ctx, upload=upload, reason="again")


def test_a_data_manager_may_override_a_coordinator_may_not(
    wrong_patient, radiologist, data_manager, coordinator, tmp_path
):
    scan, directory = wrong_patient
    upload = ingest(radiologist, scan, directory, tmp_path)
    with pytest.raises(PermissionDenied):
        services.upload_override(ctx=factories.ctx_for(coordinator), upload=upload, reason="looks fine")
    upload.refresh_from_db()
    assert upload.state == UploadState.BLOCKED and upload.override_reason == ""
    services.upload_override(ctx=factories.ctx_for(data_manager), upload=upload, reason="Source verified")
    upload.refresh_from_db()
    assert upload.state == UploadState.STORED and upload.override_by == data_manager


def test_a_wrong_half_life_cannot_be_overridden(pet_web_trial, pet_web_series, tmp_path):
    _info, directory = pet_web_series(half_life_s=ZR89_HALF_LIFE_S * 1.01)
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)
    with pytest.raises(ValidationError, match="HALF_LIFE_NOT_ZR89 cannot be overridden"):
        services.upload_override(ctx=factories.ctx_for(pet_web_trial.radiologist), upload=upload, reason="x")
    upload.refresh_from_db()
    assert upload.state == UploadState.BLOCKED


def test_the_override_page_roles_and_the_scan_page_show_it(
    client, wrong_patient, radiologist, coordinator, tmp_path
):
    scan, directory = wrong_patient
    upload = ingest(radiologist, scan, directory, tmp_path)
    url = reverse("imaging:upload_override", kwargs={"scan_pk": scan.pk, "upload_pk": upload.pk})
    client.force_login(coordinator)
    assert client.post(url, {"reason": "fine"}).status_code == 403
    client.force_login(radiologist)
    page = client.get(reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk})).content.decode()
    assert (
        "PatientWeight 95.9 kg differs from the recorded weight 52.8 kg" in page and 'name="reason"' in page
    )
    assert client.post(url, {"reason": " "}).status_code == 302
    assert SeriesUpload.objects.get().state == UploadState.BLOCKED
    response = client.post(url, {"reason": "Header confirmed with the site"})
    assert response.status_code == 302
    page = client.get(reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk})).content.decode()
    assert "Block overridden" in page and "Header confirmed with the site" in page and "rita" in page


def test_the_upload_page_states_the_limits(client, pet_web_trial, settings):
    settings.PET_BLOCK_WINDOW_TOLERANCE_H = 9
    client.force_login(pet_web_trial.radiologist)
    page = client.get(
        reverse("imaging:scan_upload", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert "by more than 1 day" in page and "more than 9 h outside" in page and "more than 20 %" in page


def test_the_weight_message_names_the_latest_recorded_weight(pet_web_trial, coordinator):
    from decimal import Decimal

    from imaging.services.blocks import recorded_weight_label
    from trial.audit import audited_update

    participant = pet_web_trial.participant
    assert recorded_weight_label(participant) == "baseline, recorded 2025-02-18"
    audited_update(
        participant, ctx=factories.ctx_for(coordinator), data={"weight_kg": Decimal("70.0")}, reason="weighed"
    )
    assert recorded_weight_label(participant) == f"updated {dt.datetime.now(dt.UTC):%Y-%m-%d}"
