"""Upload intake of what PACS and CDs give: a CD layout zipped with DICOMDIR, README.TXT, AUTORUN.INF,
sub-folders, files without the Part 10 preamble and JPEG-lossless files; plausibility findings; the
dosing record's activity decayed from its measurement time."""

from __future__ import annotations

import datetime as dt
import subprocess
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imaging.models import Finding, SeriesUpload, UploadState
from quant.pet.suv import ZR89_HALF_LIFE_S
from tests import factories
from tests.imaging.conftest import PHANTOM_INJECTION_UTC, enrol_for_phantom
from tests.imaging.test_upload_deid_and_crosschecks import codes, ingest
from tests.quant.dicom.test_cd_layout import make_cd

pytestmark = pytest.mark.django_db


def test_a_zipped_cd_with_compressed_and_preamble_less_files_is_accepted_and_reported(
    client, pet_web_trial, pet_web_series, tmp_path
):
    info, directory = pet_web_series()
    for k, path in enumerate(sorted(directory.iterdir())):
        if k % 3 == 0:  # a third of the files JPEG Lossless SV1 (the usual lossless PACS export)
            subprocess.run(["dcmcjpeg", "+e1", str(path), str(path)], check=True, capture_output=True)
    root = make_cd(tmp_path / "cd", [str(p) for p in sorted(directory.iterdir())])
    archive = tmp_path / "cd.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())
    client.force_login(pet_web_trial.radiologist)
    response = client.post(  # processing (queued on commit) is not run: not needed here
        reverse("imaging:scan_upload", kwargs={"scan_pk": pet_web_trial.scan.pk}),
        {"files": [SimpleUploadedFile("cd.zip", archive.read_bytes())]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201, response.content[:500]
    upload = SeriesUpload.objects.get(scan=pet_web_trial.scan)
    assert upload.instance_count == 12 and upload.state != UploadState.BLOCKED
    report = upload.intake_report
    assert sorted(i["file"] for i in report["ignored_files"]) == [
        "AUTORUN.INF",
        "DICOMDIR",
        "README.TXT",
        "VIEWER.EXE",
    ]
    assert "1.2.840.10008.1.2.4.70" in report["transfer_syntaxes"] and report["lossy_compression"] == []
    assert upload.suv_before_deid["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)
    page = client.get(
        reverse("imaging:scan_detail", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert "AUTORUN.INF" in page and "not a DICOM file" in page


def test_implausible_activity_blocks_and_the_activity_is_decayed_from_its_measurement(
    coordinator, site_nl, radiologist, pet_web_media, pet_web_series, tmp_path
):
    participant, scan, _ = enrol_for_phantom(coordinator, site_nl, record_dose=False)
    measured = PHANTOM_INJECTION_UTC - dt.timedelta(hours=2.25)
    factories.services.tracer_dose_record(
        ctx=factories.ctx_for(coordinator),
        participant=participant,
        visit=factories.visit(participant, "BL_TRACER"),
        administered_at=PHANTOM_INJECTION_UTC,
        activity_before_mbq=Decimal("37.5"),
        residual_mbq=Decimal("0.5"),
        mass_dose_mg=Decimal("10.0"),
        batch="ZR-1",
        activity_measured_at=measured,
    )
    _info, directory = pet_web_series(dose_bq=4266e6)
    upload = ingest(radiologist, scan, directory, tmp_path)
    found = codes(upload)
    assert found["ACTIVITY_IMPLAUSIBLE"] == "error" and upload.state == UploadState.BLOCKED
    message = Finding.objects.get(upload=upload, code="ACTIVITY_IMPLAUSIBLE").message
    assert message.startswith("RadionuclideTotalDose in the header is 4,266.00 MBq")
    # 37.0 MBq net measured 2.25 h before the injection: 37.0 x 0.980306 = 36.2713 MBq injected (by hand)
    assert upload.suv_before_deid["dose_bq"] == pytest.approx(36.2713e6, rel=2e-6)
    expected = 75_000 / (36.2713e6 * 2 ** (-48 * 3600 / ZR89_HALF_LIFE_S))
    assert upload.suv_before_deid["suv_bw_factor"] == pytest.approx(expected, rel=2e-6)
    assert upload.suv_parameters["activity_measured_at"] == measured.isoformat()
