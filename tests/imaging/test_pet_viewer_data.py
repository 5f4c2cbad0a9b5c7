"""The viewer's data endpoints: the SUV volume as NIfTI (affine and values), the VOI label map and list,
site scoping (404 for another site) and nothing before processing."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imaging import services
from imaging.models import SeriesUpload, UploadState, Voi
from imaging.viewer import LPS_TO_RAS, upload_suv
from quant.pet.voi import sphere_voi
from tests import factories
from trial.models import Role

pytestmark = pytest.mark.django_db


def _files(directory: Path) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(directory.iterdir())]


@pytest.fixture
def processed(client, pet_web_trial, pet_web_series, django_capture_on_commit_callbacks):
    info, directory = pet_web_series()
    client.force_login(pet_web_trial.radiologist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imaging:scan_upload", kwargs={"scan_pk": pet_web_trial.scan.pk}),
            {"files": _files(directory)},
        )
    assert response.status_code == 302
    upload = SeriesUpload.objects.get()
    assert upload.state == UploadState.DONE, upload.state_message
    return info, upload


def _nifti(response) -> nib.Nifti1Image:
    assert response.status_code == 200, response.content[:300]
    raw = gzip.decompress(response.content)
    return nib.Nifti1Image.from_bytes(raw)


def _url(name: str, scan) -> str:
    return reverse(f"imaging:{name}", kwargs={"scan_pk": scan.pk})


def test_the_suv_nifti_holds_the_suv_volume_on_the_pet_grid_in_ras(
    client, settings, pet_web_trial, processed
):
    info, upload = processed
    image = _nifti(client.get(_url("scan_viewer_suv", pet_web_trial.scan)))
    cached = list((Path(settings.MEDIA_ROOT) / upload.storage_dir / "viewer").glob("suv-*.nii.gz"))
    assert len(cached) == 1
    geometry = services.geometry_from_json(upload.geometry)
    expected_affine = LPS_TO_RAS @ np.array(upload.geometry["affine"])
    assert np.allclose(image.affine, expected_affine)
    assert int(image.header["sform_code"]) == 1 and int(image.header["qform_code"]) == 1
    data = np.asarray(image.dataobj)
    assert data.dtype == np.float32
    assert data.shape == tuple(reversed(geometry.shape))  # (x, y, z)
    suv, _ = upload_suv(upload)
    assert np.array_equal(data.transpose(2, 1, 0), suv.astype(np.float32))
    # independent of our code path: the phantom's true SUV, and the worker's summary
    assert np.allclose(data.transpose(2, 1, 0), info.truth, rtol=2e-3, atol=2e-3)
    assert float(data.max()) == pytest.approx(upload.suv_summary["suv_max"], rel=1e-6)
    # orientation: a lesion centre in LPS mm, through the RAS affine, lands on the lesion's voxels
    lesion = max(info.lesions, key=lambda les: les.suv)
    ras = np.array([-lesion.centre_mm[0], -lesion.centre_mm[1], lesion.centre_mm[2], 1.0])
    i, j, k = np.rint(np.linalg.inv(image.affine) @ ras)[:3].astype(int)
    assert data[i, j, k] == pytest.approx(lesion.suv, rel=2e-3)
    # served from the cache the second time, byte for byte
    first = client.get(_url("scan_viewer_suv", pet_web_trial.scan)).content
    assert first == client.get(_url("scan_viewer_suv", pet_web_trial.scan)).content


def test_voi_labels_and_list_follow_the_live_vois(
    client, pet_web_trial, processed, django_capture_on_commit_callbacks
):
    info, upload = processed
    lesion = info.lesions[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url("voi_sphere_new", pet_web_trial.scan),
            {
                "kind": "lesion",
                "name": "T1",
                "centre_x": lesion.centre_mm[0],
                "centre_y": lesion.centre_mm[1],
                "centre_z": lesion.centre_mm[2],
                "radius_mm": lesion.radius_mm,
            },
        )
    assert response.status_code == 302
    listing = client.get(_url("scan_viewer_vois", pet_web_trial.scan)).json()
    assert [v["name"] for v in listing["vois"]] == ["T1"]
    row = listing["vois"][0]
    assert row["label"] == 1 and row["radius_mm"] == pytest.approx(lesion.radius_mm)
    assert row["centre_mm"] == pytest.approx(list(lesion.centre_mm))
    assert row["metrics"]["suv_mean"] == pytest.approx(lesion.suv, rel=2e-3)
    labels = _nifti(client.get(_url("scan_viewer_voi_labels", pet_web_trial.scan)))
    assert int(labels.header["intent_code"]) == 1002
    geometry = services.geometry_from_json(upload.geometry)
    expected = sphere_voi("T1", geometry, lesion.centre_mm, lesion.radius_mm).full(geometry.shape)
    assert np.array_equal(np.asarray(labels.dataobj).transpose(2, 1, 0) == 1, expected)
    # The label map is cached under the live VOIs' definitions: voiding the VOI gives a new, empty map.
    voi = Voi.objects.get()
    void = client.post(
        reverse("record_void", args=["imaging", "voi", voi.pk]),
        {"reason": "wrong lesion", "version": voi.version},
    )
    assert void.status_code == 302
    labels = _nifti(client.get(_url("scan_viewer_voi_labels", pet_web_trial.scan)))
    assert not np.asarray(labels.dataobj).any()


def test_another_site_gets_404_and_an_unprocessed_scan_has_no_volume(
    client, pet_web_trial, processed, other_coordinator, participant, radiologist
):
    client.force_login(other_coordinator)
    for name in ("scan_viewer_suv", "scan_viewer_voi_labels", "scan_viewer_vois"):
        assert client.get(_url(name, pet_web_trial.scan)).status_code == 404
    client.force_login(radiologist)
    services.scans_ensure_for_participant(participant)
    bare = participant.scans.filter(modality="PT").first()
    for name in ("scan_viewer_suv", "scan_viewer_voi_labels", "scan_viewer_vois"):
        assert client.get(_url(name, bare)).status_code == 404
        assert client.post(_url(name, pet_web_trial.scan)).status_code == 405


def test_the_scan_page_carries_the_viewer_once_processed(client, pet_web_trial, processed, participant):
    page = client.get(
        reverse("imaging:scan_detail", kwargs={"scan_pk": pet_web_trial.scan.pk})
    ).content.decode()
    assert 'id="pet-viewer"' in page and _url("scan_viewer_suv", pet_web_trial.scan) in page
    assert (
        '<script type="module" src="/static/js/scan_viewer.js"></script>' in page
    )  # a file: no inline script
    services.scans_ensure_for_participant(participant)
    bare = participant.scans.filter(modality="PT").first()
    client.force_login(factories.make_user("rad2", (participant.site, Role.RADIOLOGIST)))
    assert (
        'id="pet-viewer"'
        not in client.get(reverse("imaging:scan_detail", kwargs={"scan_pk": bare.pk})).content.decode()
    )
