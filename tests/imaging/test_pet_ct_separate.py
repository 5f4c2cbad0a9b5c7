"""The CT of a PET/CT uploaded separately, after its PET series is stored (imaging.services.ct_upload): on the scan
page and at POST /api/v1/pet-scans/<id>/ct/. Linked only when its received FrameOfReferenceUID, remapped with the
participant's UID key, equals the stored PET's; de-identified with the same keys (stored frame and study UIDs equal
the PET's); audited with a reason saying it came separately; refused with one line and nothing stored otherwise
(another frame, not CT, invalid, already linked, locked); 404 at another site, 403 for a role without imaging
rights; a retried identical upload answers with the existing link (200) and stores nothing new."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pydicom.uid import generate_uid

from imaging.models import CtInstance, LinkedCt, Scan, SeriesUpload, UploadState
from imaging.services import ct as ct_link
from imaging.services.common import _sha256, uid_key
from imaging.services.ct_upload import ct_upload_link
from monitoring import services as monitoring_services
from tests import factories
from tests.concurrency import in_parallel
from tests.imaging.conftest import make_trial, series_maker, use_tmp_media
from tests.imaging.ct_phantom import CT_SHAPE, CtInfo, write_ct
from tests.imaging.test_upload_deid_and_crosschecks import ingest
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


def _ct(info, tmp_path: Path, name: str = "ct", *, frame: str | None = None) -> CtInfo:
    return write_ct(
        tmp_path / name,
        pet_origin=info.origin,
        frame_uid=frame or info.uids["frame"],
        study_uid=info.uids["study"],
    )


def _files(paths: list[Path]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in paths]


def _cd_zip(paths: list[Path]) -> SimpleUploadedFile:
    """A CD export: the CT under DICOM/ beside README.TXT and AUTORUN.INF (ignored and listed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.TXT", "Exported by the PACS")
        archive.writestr("AUTORUN.INF", "[autorun]\nopen=viewer.exe")
        for k, path in enumerate(paths):
            archive.write(path, f"DICOM/IM{k:05d}")
    return SimpleUploadedFile("ct-cd.zip", buffer.getvalue(), content_type="application/zip")


def _media(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _page_url(scan) -> str:
    return reverse("imaging:scan_ct_upload", kwargs={"scan_pk": scan.pk})


def _api_url(scan) -> str:
    return f"/api/v1/pet-scans/{scan.pk}/ct/"


@pytest.fixture
def stored_pet(pet_web_trial, pet_web_series, tmp_path):
    """A stored PET series alone (not processed: linking does not need the worker)."""
    info, directory = pet_web_series()
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)
    assert not LinkedCt.objects.exists()
    return info, upload


def test_the_uid_key_maps_the_received_frame_to_the_stored_one_deterministically(
    pet_web_trial, stored_pet, coordinator, site_nl
):
    info, upload = stored_pet
    participant = pet_web_trial.participant
    key = uid_key(participant)
    remap = ct_link.remapped_uid
    assert remap(info.uids["frame"], study_id=participant.study_id, key=key) == upload.frame_of_reference_uid
    assert remap(info.uids["study"], study_id=participant.study_id, key=key) == upload.study_instance_uid
    assert remap(info.uids["frame"], study_id=participant.study_id, key=key) == remap(
        info.uids["frame"], study_id=participant.study_id, key=key
    )
    assert remap(generate_uid(), study_id=participant.study_id, key=key) != upload.frame_of_reference_uid
    other_key = uid_key(factories.enrol(coordinator, site_nl))
    assert (
        remap(info.uids["frame"], study_id=participant.study_id, key=other_key)
        != upload.frame_of_reference_uid
    )


def test_a_ct_uploaded_on_the_scan_page_is_deidentified_with_the_pets_keys_linked_and_audited(
    client, pet_web_trial, stored_pet, tmp_path
):
    info, upload = stored_pet
    ct = _ct(info, tmp_path)
    client.force_login(pet_web_trial.radiologist)
    page = client.get(
        reverse("imaging:scan_detail", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert 'id="ct-upload-form"' in page and "Add the CT of this PET/CT" in page
    response = client.post(_page_url(pet_web_trial.scan), {"files": _files(ct.files)})
    assert response.status_code == 302, response.content.decode()[-2000:]
    linked = LinkedCt.objects.get()
    assert (linked.upload, linked.scan, linked.instance_count) == (upload, pet_web_trial.scan, CT_SHAPE[0])
    assert linked.link_reason == ct_link.SEPARATE_LINK_REASON and "uploaded separately" in linked.link_reason
    # the same keys as the PET: the stored CT's remapped frame and study equal the stored PET's
    assert linked.frame_of_reference_uid == upload.frame_of_reference_uid != info.uids["frame"]
    assert linked.study_instance_uid == upload.study_instance_uid != info.uids["study"]
    assert linked.storage_dir.startswith(f"{upload.storage_dir}/ct-")
    forbidden = [v for v in info.identifiers.values() if len(v) >= 6]
    forbidden += [ct.uids["series"], ct.uids["frame"], ct.uids["study"], *ct.sop_uids]
    received = {_sha256(p) for p in ct.files}
    instances = list(CtInstance.objects.filter(ct=linked).order_by("z_index"))
    assert len(instances) == CT_SHAPE[0] and {i.source_sha256 for i in instances} == received
    for inst in instances:
        path = Path(default_storage.path(inst.path))
        assert _sha256(path) == inst.sha256
        data = path.read_bytes()
        assert not [v for v in forbidden if v.encode() in data], inst.path
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert (ds.FrameOfReferenceUID, ds.StudyInstanceUID) == (
            upload.frame_of_reference_uid,
            upload.study_instance_uid,
        )
        assert ds.PatientIdentityRemoved == "YES" and ds.PatientID == pet_web_trial.participant.study_id
    entry = AuditEntry.objects.get(model="linkedct", object_id=str(linked.pk), action="create")
    assert entry.user == pet_web_trial.radiologist and entry.source == "browser" and entry.at is not None
    assert "uploaded separately" in entry.reason and f"#{upload.pk}" in entry.reason
    page = client.get(
        reverse("imaging:scan_detail", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert 'id="linked-ct-summary"' in page and "CT uploaded separately" in page
    assert 'id="ct-upload-form"' not in page  # one CT per PET series


def test_a_linked_ct_is_voided_with_a_reason_and_another_ct_can_then_be_linked(
    client, pet_web_trial, stored_pet, tmp_path
):
    info, _upload = stored_pet
    scan = pet_web_trial.scan
    client.force_login(pet_web_trial.radiologist)
    first = _ct(info, tmp_path, "first")
    assert client.post(_page_url(scan), {"files": _files(first.files)}).status_code == 302
    linked = LinkedCt.objects.get()
    second = _ct(info, tmp_path, "second")
    refused = client.post(_page_url(scan), {"files": _files(second.files)})
    assert refused.status_code == 400, refused.status_code
    assert "void that link with a reason" in refused.content.decode()  # shown beside the linked CT
    scan_page = reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk})
    void_url = reverse("record_void", args=["imaging", "linkedct", linked.pk])
    assert void_url in client.get(scan_page).content.decode()
    done = client.post(
        void_url, {"reason": "the CT of another session", "version": linked.version, "next": scan_page}
    )
    assert done.status_code == 302 and done["Location"] == scan_page
    linked.refresh_from_db()
    assert linked.voided and CtInstance.objects.filter(ct=linked).count() == CT_SHAPE[0]  # nothing deleted
    entry = AuditEntry.objects.get(model="linkedct", object_id=str(linked.pk), action="void")
    assert entry.reason == "the CT of another session" and entry.user == pet_web_trial.radiologist
    assert 'id="ct-upload-form"' in client.get(scan_page).content.decode()
    assert client.post(_page_url(scan), {"files": _files(second.files)}).status_code == 302
    assert LinkedCt.objects.filter(voided=False).get().source_fingerprint != linked.source_fingerprint


def test_the_api_takes_a_cd_zip_answers_201_then_200_for_the_same_ct_and_stores_nothing_new(
    client, settings, pet_web_trial, stored_pet, tmp_path
):
    info, upload = stored_pet
    ct = _ct(info, tmp_path)
    client.force_login(pet_web_trial.radiologist)
    first = client.post(_api_url(pet_web_trial.scan), {"files": [_cd_zip(ct.files)]})
    assert first.status_code == 201, first.content[:500]
    body = first.json()
    assert body["upload"] == upload.pk and body["frame_of_reference_uid"] == upload.frame_of_reference_uid
    assert body["instance_count"] == CT_SHAPE[0] and "uploaded separately" in body["link_reason"]
    entry = AuditEntry.objects.get(model="linkedct", object_id=str(body["id"]), action="create")
    assert entry.source == "api" and entry.user == pet_web_trial.radiologist
    media, audits = _media(settings), AuditEntry.objects.count()
    again = client.post(_api_url(pet_web_trial.scan), {"files": _files(ct.files)})  # loose files this time
    assert again.status_code == 200, again.content[:500]
    assert again.json()["id"] == body["id"]
    assert LinkedCt.objects.count() == 1 and CtInstance.objects.count() == CT_SHAPE[0]
    assert _media(settings) == media and AuditEntry.objects.count() == audits


def test_a_ct_that_came_with_the_pet_sent_again_separately_is_answered_with_its_link(
    client, pet_web_trial, pet_web_series, tmp_path
):
    info, directory = pet_web_series()
    ct = _ct(info, tmp_path)
    for path in ct.files:
        (directory / path.name).write_bytes(path.read_bytes())
    upload = ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path)
    linked = LinkedCt.objects.get(upload=upload)
    client.force_login(pet_web_trial.radiologist)
    response = client.post(_api_url(pet_web_trial.scan), {"files": _files(ct.files)})
    assert response.status_code == 200 and response.json()["id"] == linked.pk
    assert LinkedCt.objects.count() == 1


def _refused(response, *needles: str) -> str:
    assert response.status_code == 400, response.content[:500]
    message = " ".join(response.json()["errors"]["files"])
    for needle in needles:
        assert needle in message, message
    assert "nothing was stored" in message, message
    return message


def test_refusals_store_nothing_and_say_why_in_one_line(
    client, settings, pet_web_trial, stored_pet, tmp_path
):
    info, upload = stored_pet
    client.force_login(pet_web_trial.radiologist)
    url = _api_url(pet_web_trial.scan)
    media, audits = _media(settings), AuditEntry.objects.count()

    other_frame = _ct(info, tmp_path, "other-frame", frame=generate_uid())
    message = _refused(client.post(url, {"files": _files(other_frame.files)}), "another frame of reference")
    assert "\n" not in message and f"upload #{upload.pk}" in message

    pet_again = sorted((tmp_path / "series").iterdir())
    _refused(client.post(url, {"files": _files(pet_again)}), "holds no CT series", "PT")

    invalid = _ct(info, tmp_path, "invalid")
    ds = pydicom.dcmread(invalid.files[5])
    ds.PixelSpacing = ["3.25", "3.9"]  # one slice on another in-plane grid: not one volume
    ds.save_as(invalid.files[5])
    _refused(client.post(url, {"files": _files(invalid.files)}), "does not validate", "PixelSpacing")

    assert not LinkedCt.objects.exists() and not CtInstance.objects.exists()
    assert _media(settings) == media and AuditEntry.objects.count() == audits

    page = client.post(_page_url(pet_web_trial.scan), {"files": _files(other_frame.files)})
    assert page.status_code == 400 and "another frame of reference" in page.content.decode()
    assert 'id="ct-errors"' in page.content.decode()

    good = _ct(info, tmp_path, "good")
    assert client.post(url, {"files": _files(good.files)}).status_code == 201
    linked = LinkedCt.objects.get()
    second = _ct(info, tmp_path, "second")  # another CT series of the same frame
    message = _refused(client.post(url, {"files": _files(second.files)}), "already has a linked CT")
    assert (
        f"CT #{linked.pk}" in message and linked.series_description in message and "void that link" in message
    )
    assert LinkedCt.objects.count() == 1


def test_the_pet_upload_limits_apply(client, settings, pet_web_trial, stored_pet, tmp_path):
    info, _upload = stored_pet
    ct = _ct(info, tmp_path)
    client.force_login(pet_web_trial.radiologist)
    settings.UPLOAD_MAX_FILES = CT_SHAPE[0] - 1
    api = client.post(_api_url(pet_web_trial.scan), {"files": _files(ct.files)})
    assert api.status_code == 400 and f"more than {CT_SHAPE[0] - 1}" in api.json()["errors"]["files"][0]
    settings.UPLOAD_MAX_FILES, settings.UPLOAD_MAX_BYTES = 1000, ct.files[0].stat().st_size * 3
    page = client.post(_page_url(pet_web_trial.scan), {"files": [_cd_zip(ct.files)]})
    assert page.status_code == 400 and "larger than the limit" in page.content.decode()
    assert not LinkedCt.objects.exists()


def test_a_locked_casebook_or_scan_refuses_with_the_lock_message(
    client, settings, pet_web_trial, stored_pet, tmp_path, data_manager
):
    info, _upload = stored_pet
    ct = _ct(info, tmp_path)
    media = _media(settings)
    ctx = factories.ctx_for(data_manager)
    lock = monitoring_services.lock_apply(
        ctx=ctx, scope="participant", object_id=pet_web_trial.participant.pk, reason="Interim analysis lock"
    )
    client.force_login(pet_web_trial.radiologist)
    api = client.post(_api_url(pet_web_trial.scan), {"files": _files(ct.files)})
    assert api.status_code == 423 and "Interim analysis lock" in api.json()["detail"], api.content[:400]
    page = client.post(_page_url(pet_web_trial.scan), {"files": _files(ct.files)})
    assert page.status_code == 400 and "Interim analysis lock" in page.content.decode()
    monitoring_services.lock_release(ctx=ctx, lock=lock, reason="Reopened")

    monitoring_services.lock_apply(
        ctx=ctx, scope="record", resource="scans", object_id=pet_web_trial.scan.pk, reason="Scan read locked"
    )
    api = client.post(_api_url(pet_web_trial.scan), {"files": _files(ct.files)})
    assert api.status_code == 423 and "Scan read locked" in api.json()["detail"], api.content[:400]
    assert not LinkedCt.objects.exists() and _media(settings) == media


def test_another_site_gets_404_and_a_role_without_imaging_rights_403(
    client, pet_web_trial, stored_pet, tmp_path, other_coordinator, coordinator
):
    info, _upload = stored_pet
    ct = _ct(info, tmp_path)
    client.force_login(other_coordinator)
    assert client.post(_page_url(pet_web_trial.scan), {"files": _files(ct.files)}).status_code == 404
    assert client.post(_api_url(pet_web_trial.scan), {"files": _files(ct.files)}).status_code == 404
    client.force_login(coordinator)
    assert client.post(_page_url(pet_web_trial.scan), {"files": _files(ct.files)}).status_code == 403
    assert client.post(_api_url(pet_web_trial.scan), {"files": _files(ct.files)}).status_code == 403
    assert client.get(_page_url(pet_web_trial.scan)).status_code == 405
    page = client.get(
        reverse("imaging:scan_detail", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert 'id="ct-upload-form"' not in page  # read-only roles see no form
    assert not LinkedCt.objects.exists()


def test_after_linking_the_viewer_serves_the_ct_in_hu(
    client, pet_web_trial, pet_web_series, tmp_path, django_capture_on_commit_callbacks
):
    info, directory = pet_web_series()
    client.force_login(pet_web_trial.radiologist)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("imaging:scan_upload", kwargs={"scan_pk": pet_web_trial.scan.pk}),
            {"files": _files(sorted(directory.iterdir()))},
        )
    assert SeriesUpload.objects.get().state == UploadState.DONE
    vois_url = reverse("imaging:scan_viewer_vois", kwargs={"scan_pk": pet_web_trial.scan.pk})
    assert client.get(vois_url).json()["ct"] is None
    ct = _ct(info, tmp_path)
    assert client.post(_page_url(pet_web_trial.scan), {"files": _files(ct.files)}).status_code == 302
    listing = client.get(vois_url).json()["ct"]
    assert listing["slices"] == CT_SHAPE[0] and "uploaded separately" in listing["link_reason"]
    served = client.get(listing["url"])
    image = nib.Nifti1Image.from_bytes(gzip.decompress(served.content))
    assert np.array_equal(np.asarray(image.dataobj).transpose(2, 1, 0), ct.hu.astype(np.int16))
    page = client.get(
        reverse("imaging:scan_detail", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert "fused on the linked CT" in page and 'id="viewer-opacity"' in page


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uploads_of_the_ct_give_exactly_one_link(
    settings, tmp_path, coordinator, site_nl, radiologist, monkeypatch
):
    use_tmp_media(settings, tmp_path)
    trial = make_trial(coordinator, site_nl, radiologist)
    info, directory = series_maker(tmp_path)()
    upload = ingest(radiologist, trial.scan, directory, tmp_path)
    ct = _ct(info, tmp_path)
    prepared = []
    original = ct_link.validate_and_deidentify

    def counting(*args, **kwargs):
        prepared.append(1)  # both requests got past the up-front check: the race is real
        return original(*args, **kwargs)

    monkeypatch.setattr(ct_link, "validate_and_deidentify", counting)

    def job(k: int):
        def run():
            work = tmp_path / f"job-{k}"
            work.mkdir()
            return ct_upload_link(
                ctx=factories.ctx_for(radiologist),
                scan=Scan.objects.get(pk=trial.scan.pk),
                files=[(p, p.name) for p in ct.files],
                work_dir=work,
            )

        return run

    results = in_parallel(job(0), job(1))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(prepared) == 2
    assert sorted(r.created for r in results) == [False, True]
    assert results[0].linked.pk == results[1].linked.pk
    linked = LinkedCt.objects.get()
    assert linked.upload_id == upload.pk and CtInstance.objects.filter(ct=linked).count() == CT_SHAPE[0]
    stored = [name for name in _media(settings) if "/ct-" in name]
    assert len(stored) == CT_SHAPE[0] and all(name.startswith(linked.storage_dir) for name in stored)
    assert AuditEntry.objects.filter(model="linkedct", action="create").count() == 1
