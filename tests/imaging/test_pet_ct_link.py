"""The CT of a PET/CT uploaded with the PET series: stored, de-identified with the participant's same UID key as
the PET (its remapped FrameOfReferenceUID equals the PET's), checksummed, linked with an audit entry, served as
NIfTI in HU with its own RAS+ affine (a known HU cube comes back at its position) and named in the viewer JSON;
a CT of another frame of reference is not linked and is listed as not used with the reason."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pydicom.uid import generate_uid

from imaging.models import CtInstance, LinkedCt, SeriesUpload, UploadState
from imaging.services.common import _sha256
from imaging.viewer import LPS_TO_RAS
from tests.imaging.ct_phantom import AIR_HU, BODY_HU, CT_SHAPE, CUBE, CUBE_HU, write_ct
from tests.imaging.test_upload_deid_and_crosschecks import ingest
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


def _pet_and_ct(make, tmp_path: Path, *, same_frame: bool = True):
    info, directory = make()
    frame = info.uids["frame"] if same_frame else generate_uid()
    ct = write_ct(tmp_path / "ct", pet_origin=info.origin, frame_uid=frame, study_uid=info.uids["study"])
    for path in ct.files:
        path.rename(directory / path.name)  # one upload holding both series, as a PET/CT export does
    ct.files = [directory / p.name for p in ct.files]
    return info, ct, directory


def test_the_ct_is_stored_deidentified_with_the_pets_keys_and_linked(pet_web_trial, pet_web_series, tmp_path):
    info, ct, directory = _pet_and_ct(pet_web_series, tmp_path)
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)
    assert upload.instance_count == 12  # the PET series is the one analysed
    linked = LinkedCt.objects.get(upload=upload)
    assert linked.scan == pet_web_trial.scan and linked.instance_count == CT_SHAPE[0]
    # same remapping as the PET: the received CT and PET share frame and study, so the stored ones do too
    assert linked.frame_of_reference_uid == upload.frame_of_reference_uid != info.uids["frame"]
    assert linked.study_instance_uid == upload.study_instance_uid != info.uids["study"]
    assert linked.series_instance_uid not in (ct.uids["series"], upload.series_instance_uid)
    assert linked.geometry["shape"] == list(CT_SHAPE)
    forbidden = [v for v in info.identifiers.values() if len(v) >= 6] + ["Kowalczyk", "MRN-00482917"]
    forbidden += [ct.uids["series"], ct.uids["frame"], ct.uids["study"], *ct.sop_uids]
    instances = list(CtInstance.objects.filter(ct=linked).order_by("z_index"))
    received = {_sha256(p) for p in ct.files}
    for inst in instances:
        path = Path(default_storage.path(inst.path))
        assert _sha256(path) == inst.sha256 and inst.source_sha256 in received
        data = path.read_bytes()
        for value in forbidden:
            assert value.encode() not in data, (value, inst.path)
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert ds.FrameOfReferenceUID == upload.frame_of_reference_uid and ds.Modality == "CT"
        assert ds.PatientIdentityRemoved == "YES" and ds.PatientID != info.identifiers["PatientID"]
        assert ds.SOPInstanceUID == inst.sop_instance_uid
    assert len({i.source_sha256 for i in instances}) == CT_SHAPE[0]
    assert AuditEntry.objects.filter(model="linkedct", object_id=str(linked.pk), action="create").exists()
    report = upload.intake_report
    assert report["linked_ct"]["files"] == CT_SHAPE[0] and report["other_series"] == []


def test_a_ct_of_another_frame_of_reference_is_not_linked_and_listed_with_the_reason(
    client, pet_web_trial, pet_web_series, tmp_path
):
    _info, _ct, directory = _pet_and_ct(pet_web_series, tmp_path, same_frame=False)
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)
    assert not LinkedCt.objects.exists() and not CtInstance.objects.exists()
    assert upload.intake_report["linked_ct"] is None
    [other] = upload.intake_report["other_series"]
    assert other["modality"] == "CT" and other["files"] == CT_SHAPE[0]
    assert "another frame of reference" in other["reason"]
    client.force_login(pet_web_trial.radiologist)
    page = client.get(
        reverse("imaging:scan_detail", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert "Other series not used: CT" in page and "another frame of reference" in page


def test_a_ct_that_does_not_validate_is_not_linked_and_the_pet_is_stored(
    pet_web_trial, pet_web_series, tmp_path
):
    _info, ct, directory = _pet_and_ct(pet_web_series, tmp_path)
    ds = pydicom.dcmread(ct.files[5])
    ds.PixelSpacing = ["3.25", "3.9"]  # one slice on another in-plane grid: not one consistent volume
    ds.save_as(ct.files[5])
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)
    assert upload.instance_count == 12 and not LinkedCt.objects.exists()
    [other] = upload.intake_report["other_series"]
    assert other["reason"].startswith("the CT was not linked:") and "PixelSpacing" in other["reason"]


@pytest.fixture
def processed_with_ct(client, pet_web_trial, pet_web_series, tmp_path, django_capture_on_commit_callbacks):
    info, ct, directory = _pet_and_ct(pet_web_series, tmp_path)
    client.force_login(pet_web_trial.radiologist)
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(directory.iterdir())]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imaging:scan_upload", kwargs={"scan_pk": pet_web_trial.scan.pk}), {"files": files}
        )
    assert response.status_code == 302
    upload = SeriesUpload.objects.get()
    assert upload.state == UploadState.DONE, upload.state_message
    return info, ct, upload


def _url(name: str, scan) -> str:
    return reverse(f"imaging:{name}", kwargs={"scan_pk": scan.pk})


def test_the_linked_ct_is_served_in_hu_with_its_own_affine_and_named_in_the_viewer_json(
    client, settings, pet_web_trial, processed_with_ct, other_coordinator
):
    _info, ct, upload = processed_with_ct
    response = client.get(_url("scan_viewer_ct", pet_web_trial.scan))
    assert response.status_code == 200, response.content[:300]
    image = nib.Nifti1Image.from_bytes(gzip.decompress(response.content))
    expected = LPS_TO_RAS @ ct.affine_lps  # from the written origin and spacing, not from the app's geometry
    assert np.allclose(image.affine, expected, atol=1e-4)
    assert int(image.header["sform_code"]) == 1
    data = np.asarray(image.dataobj)
    assert data.dtype == np.int16 and data.shape == tuple(reversed(CT_SHAPE))
    assert np.array_equal(data.transpose(2, 1, 0), ct.hu.astype(np.int16))  # HU: the -1024 intercept applied
    # the cube found back at its patient position through the served affine
    centre_ras = np.array([-1.0, -1.0, 1.0]) * ct.cube_centre_lps()
    ijk = np.linalg.inv(image.affine) @ np.append(centre_ras, 1.0)
    x, y, z = np.round(ijk[:3]).astype(int)
    assert data[x, y, z] == CUBE_HU
    assert (data == CUBE_HU).sum() == np.prod([s.stop - s.start for s in CUBE])
    assert set(np.unique(data)) == {AIR_HU, BODY_HU, CUBE_HU}
    linked = LinkedCt.objects.get()
    assert list((Path(settings.MEDIA_ROOT) / linked.storage_dir / "viewer").glob("ct-*.nii.gz"))  # cached

    listing = client.get(_url("scan_viewer_vois", pet_web_trial.scan)).json()
    assert listing["ct"]["url"] == _url("scan_viewer_ct", pet_web_trial.scan)
    assert listing["ct"]["window"] == [-160.0, 240.0] and listing["ct"]["units"] == "HU"
    page = client.get(
        reverse("imaging:scan_detail", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert "fused on the linked CT" in page and 'id="viewer-opacity"' in page and "Linked CT:" in page
    assert client.post(_url("scan_viewer_ct", pet_web_trial.scan)).status_code == 405
    client.force_login(other_coordinator)
    assert client.get(_url("scan_viewer_ct", pet_web_trial.scan)).status_code == 404  # another site


def test_without_a_linked_ct_the_viewer_json_says_none_and_the_ct_url_is_404(
    client, pet_web_trial, pet_web_series, django_capture_on_commit_callbacks
):
    _info, directory = pet_web_series()
    client.force_login(pet_web_trial.radiologist)
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(directory.iterdir())]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url("scan_upload", pet_web_trial.scan), {"files": files})
    assert SeriesUpload.objects.get().state == UploadState.DONE
    assert client.get(_url("scan_viewer_vois", pet_web_trial.scan)).json()["ct"] is None
    assert client.get(_url("scan_viewer_ct", pet_web_trial.scan)).status_code == 404
    page = client.get(
        reverse("imaging:scan_detail", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert "PET alone (no CT is linked" in page and 'id="viewer-opacity"' not in page
