"""PET pages and API: upload through the browser view and the API, VOIs from spheres and files, findings,
worklist, distribution; site isolation and read-only roles on every PET URL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from imaging import services
from imaging.models import Finding, ScanStatus, SeriesUpload, UploadState, Voi, VoiResult
from quant.pet.phantom import write_nifti_mask, write_rtstruct, write_seg
from quant.pet.voi import sphere_voi
from tests import factories

pytestmark = pytest.mark.django_db


def _files(directory: Path) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(directory.iterdir())]


@pytest.fixture
def uploaded(client, pet_web_trial, pet_web_series, django_capture_on_commit_callbacks):
    """A phantom uploaded through the browser view and processed (eager worker)."""
    info, directory = pet_web_series()
    client.force_login(pet_web_trial.radiologist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imaging:scan_upload", kwargs={"scan_pk": pet_web_trial.scan.pk}),
            {"files": _files(directory)},
        )
    assert response.status_code == 302, response.content[:500]
    upload = SeriesUpload.objects.get()
    assert upload.state == UploadState.DONE, upload.state_message
    return info, upload


def _voi_post(client, scan, data, capture):
    with capture(execute=True):
        return client.post(reverse("imaging:voi_sphere_new", kwargs={"scan_pk": scan.pk}), data)


def test_the_scan_page_shows_state_mip_findings_and_sphere_results(
    client, pet_web_trial, uploaded, django_capture_on_commit_callbacks
):
    info, upload = uploaded
    scan = pet_web_trial.scan
    liver = next(lesion for lesion in info.lesions if lesion.name == "liver")
    response = _voi_post(
        client,
        scan,
        {
            "kind": "organ",
            "organ": "liver",
            "name": "",
            "centre_x": liver.centre_mm[0],
            "centre_y": liver.centre_mm[1],
            "centre_z": liver.centre_mm[2],
            "radius_mm": 10,
        },
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 302
    voi = Voi.objects.get(name="Liver")
    assert voi.organ == "liver"
    assert VoiResult.objects.get(voi=voi).suv_mean == pytest.approx(liver.suv, rel=2e-4)
    page = client.get(reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk}))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Results ready" in html and "Liver" in html and "Provenance" in html
    assert reverse("imaging:scan_mip", kwargs={"scan_pk": scan.pk}) in html
    # The MIP is enlarged to a usable size, with orientation letters and the VOI outlined where it lies.
    overlay = page.context["mip_overlay"]
    assert max(overlay["width"], overlay["height"]) >= 480 and upload.mip_window["upscale"] > 1
    assert [o["letter"] for o in overlay["letters"]] == ["S", "I", "R", "L"]
    (box,) = overlay["boxes"]
    geometry = services.geometry_from_json(upload.geometry)
    x_index, _y, z_index = geometry.patient_to_index(np.array([liver.centre_mm]))[0]
    f = upload.mip_window["upscale"]
    centre_col, centre_row = box["left"] + box["width"] / 2, box["top"] + box["height"] / 2
    row_scale = overlay["height"] / geometry.shape[0]
    assert centre_col == pytest.approx((x_index + 0.5) * f, abs=f)  # within one voxel
    assert centre_row == pytest.approx((geometry.shape[0] - z_index - 0.5) * row_scale, abs=row_scale)
    assert box["width"] == pytest.approx(20 / geometry.spacing[0] * f, abs=2 * f)  # 20 mm across
    assert 'class="mip-voi organ"' in html and "Liver · SUVmax" in html
    mip = client.get(reverse("imaging:scan_mip", kwargs={"scan_pk": scan.pk}))
    assert mip["Content-Type"] == "image/png"
    assert b"".join(mip.streaming_content).startswith(b"\x89PNG")
    state = client.get(reverse("imaging:scan_state", kwargs={"scan_pk": scan.pk}))
    assert "Results ready" in state.content.decode()


def test_a_voi_is_voided_from_the_scan_page_and_the_scans_results_are_recomputed(
    client, pet_web_trial, uploaded, django_capture_on_commit_callbacks
):
    info, upload = uploaded
    scan = pet_web_trial.scan
    lesion = info.lesions[0]
    sphere = {"kind": "lesion", "name": "T1", "radius_mm": 8}
    sphere |= {f"centre_{a}": v for a, v in zip("xyz", lesion.centre_mm, strict=True)}
    assert _voi_post(client, scan, sphere, django_capture_on_commit_callbacks).status_code == 302
    voi = Voi.objects.get()
    void_url = reverse("record_void", args=["imaging", "voi", voi.pk])
    assert (
        void_url in client.get(reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk})).content.decode()
    )
    assert client.get(void_url).status_code == 200
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(void_url, {"reason": "drawn on the wrong lesion", "version": voi.version})
    assert response.status_code == 302
    voi.refresh_from_db()
    assert voi.voided
    # the void hook queued one recomputation of the scan's results (voided VOIs are left out)
    assert [getattr(c, "pet_upload_id", None) for c in callbacks].count(upload.pk) == 1


def test_a_sphere_outside_the_volume_or_an_organ_without_organ_is_refused(
    client, pet_web_trial, uploaded, django_capture_on_commit_callbacks
):
    scan = pet_web_trial.scan
    far = _voi_post(
        client,
        scan,
        {"kind": "lesion", "name": "T9", "centre_x": 900, "centre_y": 0, "centre_z": 0, "radius_mm": 5},
        django_capture_on_commit_callbacks,
    )
    assert far.status_code == 400
    assert "outside the PET volume" in far.content.decode()
    organless = _voi_post(
        client,
        scan,
        {"kind": "organ", "name": "X", "centre_x": 0, "centre_y": 0, "centre_z": -280, "radius_mm": 5},
        django_capture_on_commit_callbacks,
    )
    assert organless.status_code == 400
    assert Voi.objects.count() == 0


def _grid_mask(upload, centre, radius):
    geometry = services.geometry_from_json(upload.geometry)
    return sphere_voi("m", geometry, centre, radius).full(geometry.shape), np.array(upload.geometry["affine"])


def _file_post(client, scan, capture, source, path: Path, **data):
    with capture(execute=True), open(path, "rb") as handle:
        return client.post(
            reverse("imaging:voi_file_new", kwargs={"scan_pk": scan.pk}),
            {
                "source": source,
                "mask_file": SimpleUploadedFile(path.name, handle.read()),
                "kind": "lesion",
                "name": data.pop("name", "T1"),
                **data,
            },
        )


def test_nifti_rtstruct_and_seg_vois_land_on_the_same_voxels_as_the_sphere(
    client, pet_web_trial, uploaded, tmp_path, django_capture_on_commit_callbacks
):
    info, upload = uploaded
    scan = pet_web_trial.scan
    lesion = info.lesions[0]
    mask, affine = _grid_mask(upload, lesion.centre_mm, lesion.radius_mm)
    nifti = tmp_path / "mask.nii.gz"
    write_nifti_mask(str(nifti), mask, affine, flip_axes=(0, 2))  # stored flipped: aligned via the affine
    rt = tmp_path / "rt.dcm"
    write_rtstruct(str(rt), info.files, {"GTV": mask})  # original (identified) UIDs: remapped on upload
    seg = tmp_path / "seg.dcm"
    write_seg(str(seg), info.files, {"tumour": mask})
    capture = django_capture_on_commit_callbacks
    assert _file_post(client, scan, capture, "nifti", nifti, name="N1").status_code == 302
    with CaptureQueriesContext(connection) as one_voi:
        assert client.get(reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk})).status_code == 200
    response = _file_post(client, scan, capture, "rtstruct", rt, name="R1", roi="GTV")
    assert response.status_code == 302, [x for x in response.content.decode().splitlines() if "error" in x]
    response = _file_post(client, scan, capture, "seg", seg, name="S1")
    assert response.status_code == 302, response.content.decode()[:2000]
    results = {r.voi.name: r for r in VoiResult.objects.select_related("voi")}
    assert set(results) == {"N1", "R1", "S1"}
    for result in results.values():
        assert result.voi.voxel_count == int(mask.sum())
        assert result.suv_mean == pytest.approx(lesion.suv, rel=2e-4)
    methods = {name: r.provenance["voi"]["parameters"]["method"] for name, r in results.items()}
    assert methods["N1"].startswith("NIfTI on the PET grid") and methods["S1"].startswith(
        "SEG on the PET grid"
    )
    assert methods["R1"].startswith("RTSTRUCT closed planar contours rasterised in 3-D")
    # Stored RTSTRUCT/SEG files are de-identified too.
    from django.core.files.storage import default_storage

    for voi in Voi.objects.exclude(source="nifti"):
        assert b"Kowalczyk" not in default_storage.open(voi.mask_path).read()
    # Where each lies is stored with its result (sphere of 15 mm radius: half extent 15 mm + half a 4 mm voxel, to
    # within a voxel), so the scan page draws the masks without reading their files again.
    for result in results.values():
        placed = result.provenance["voi"]
        assert placed["centre_mm"] == pytest.approx(list(lesion.centre_mm), abs=0.5)
        assert placed["half_extent_mm"] == pytest.approx([lesion.radius_mm + 2.0] * 3, abs=4.0)
    for voi in Voi.objects.all():
        default_storage.delete(voi.mask_path)
    with CaptureQueriesContext(connection) as three_vois:
        page = client.get(reverse("imaging:scan_detail", kwargs={"scan_pk": scan.pk}))
    assert sorted(box["name"] for box in page.context["mip_overlay"]["boxes"]) == ["N1", "R1", "S1"]
    assert len(three_vois) == len(one_voi), "the scan page's queries grow with its VOIs"


def test_vois_off_the_grid_or_in_another_frame_are_refused_with_the_reason(
    client, pet_web_trial, uploaded, tmp_path, django_capture_on_commit_callbacks
):
    info, upload = uploaded
    scan = pet_web_trial.scan
    mask, affine = _grid_mask(upload, info.lesions[0].centre_mm, info.lesions[0].radius_mm)
    shifted = affine.copy()
    shifted[:3, 3] += [2.0, 0, 0]  # half a voxel
    nifti = tmp_path / "shifted.nii.gz"
    write_nifti_mask(str(nifti), mask, shifted)
    response = _file_post(client, scan, django_capture_on_commit_callbacks, "nifti", nifti)
    assert response.status_code == 400
    assert "off the PET voxel centres" in response.content.decode()
    rt = tmp_path / "rt-other.dcm"
    write_rtstruct(str(rt), info.files, {"GTV": mask}, frame_uid="1.2.3.4.5.6.7.8")
    response = _file_post(client, scan, django_capture_on_commit_callbacks, "rtstruct", rt, roi="GTV")
    assert response.status_code == 400
    assert "another frame of reference" in response.content.decode()
    assert Voi.objects.count() == 0


def test_findings_are_acknowledged_with_a_note(client, pet_web_trial, uploaded):
    _info, upload = uploaded
    finding = Finding.objects.create(
        participant=pet_web_trial.participant,
        scan=pet_web_trial.scan,
        upload=upload,
        code="WEIGHT_MISMATCH",
        severity="warning",
        message="test",
    )
    url = reverse(
        "imaging:finding_acknowledge", kwargs={"scan_pk": pet_web_trial.scan.pk, "finding_pk": finding.pk}
    )
    client.post(url, {"note": "weighed on the day; header correct"})
    finding.refresh_from_db()
    assert finding.acknowledged and finding.acknowledged_by == pet_web_trial.radiologist


def test_the_worklist_sorts_scans_into_due_overdue_upload_and_review(
    client, pet_web_trial, uploaded, coordinator, site_nl
):
    from django.utils import timezone

    fresh = factories.enrol(coordinator, site_nl)  # enrolled 30 days ago: baseline scans due around now
    client.force_login(pet_web_trial.radiologist)
    page = client.get(reverse("imaging:worklist"))
    assert page.status_code == 200
    from imaging.selectors import worklist

    row = worklist(user=pet_web_trial.radiologist, today=timezone.localdate())[0]
    overdue_codes = {(s.participant_id, s.visit.code) for s in row["overdue"]}
    assert (pet_web_trial.participant.pk, "BL_PET2") in overdue_codes  # 2025 scan never uploaded
    assert pet_web_trial.scan not in row["review"]  # analysed, no open findings
    upload_scan = fresh.scans.get(visit__code="BL_PET1")
    factories.visit(fresh, "BL_PET1")
    services.scan_mark_acquired(ctx=factories.ctx_for(pet_web_trial.radiologist), scan=upload_scan)
    row = worklist(user=pet_web_trial.radiologist)[0]
    assert upload_scan in row["upload"]
    Finding.objects.create(
        participant=pet_web_trial.participant,
        scan=pet_web_trial.scan,
        code="X",
        severity="warning",
        message="check",
    )
    row = worklist(user=pet_web_trial.radiologist)[0]
    assert pet_web_trial.scan in row["review"]
    assert "NL01" in page.content.decode()


def test_the_distribution_page_plot_and_csv(
    client, pet_web_trial, uploaded, django_capture_on_commit_callbacks
):
    info, _upload = uploaded
    blood = next(lesion for lesion in info.lesions if lesion.name == "blood_pool")
    _voi_post(
        client,
        pet_web_trial.scan,
        {
            "kind": "organ",
            "organ": "blood_pool",
            "name": "",
            "centre_x": blood.centre_mm[0],
            "centre_y": blood.centre_mm[1],
            "centre_z": blood.centre_mm[2],
            "radius_mm": 6,
        },
        django_capture_on_commit_callbacks,
    )
    pk = pet_web_trial.participant.pk
    page = client.get(reverse("imaging:distribution", kwargs={"participant_pk": pk}))
    assert "Blood pool" in page.content.decode()
    plot = client.get(reverse("imaging:distribution_plot", kwargs={"participant_pk": pk}))
    assert plot.content.startswith(b"\x89PNG")
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    reverse("imaging:distribution_csv", kwargs={"participant_pk": pk})
                ).content.decode()
            )
        )
    )
    assert len(rows) == 1
    assert rows[0]["voi"] == "Blood pool" and rows[0]["phase"] == "baseline"
    assert float(rows[0]["hours_post_injection"]) == pytest.approx(48.0)
    assert float(rows[0]["suv_mean"]) == pytest.approx(blood.suv, rel=2e-4)
    assert float(rows[0]["pct_id_per_kg_mean"]) == pytest.approx(100 * blood.suv / 75.0, rel=2e-4)


def test_the_api_uploads_multipart_and_reads_back(
    client, pet_web_trial, pet_web_series, django_capture_on_commit_callbacks
):
    info, directory = pet_web_series()
    client.force_login(pet_web_trial.radiologist)
    url = f"/api/v1/pet-scans/{pet_web_trial.scan.pk}/upload/"
    bad = client.post(url, {"files": [SimpleUploadedFile("x.txt", b"hello" * 100)]})
    assert bad.status_code == 400 and "not a DICOM file" in bad.json()["errors"]["files"][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"files": _files(directory)})
    assert response.status_code == 201, response.content[:400]
    body = response.json()
    assert body["suv_before_deid"]["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)
    listing = client.get("/api/v1/pet-scans/").json()
    scans = (
        listing["results"] if isinstance(listing, dict) else listing
    )  # cursor page["results"]  # a cursor page (issue 17)
    mine = next(s for s in scans if s["id"] == pet_web_trial.scan.pk)
    assert mine["status"] == ScanStatus.ANALYSED and mine["latest_upload"]["state"] == "done"
    assert client.get(f"/api/v1/pet-uploads/{body['id']}/").status_code == 200
    assert client.get("/api/v1/pet-findings/").status_code == 200


def test_other_sites_get_404_and_read_only_roles_403_on_every_pet_url(
    client, pet_web_trial, uploaded, other_coordinator, monitor, sponsor
):
    _info, upload = uploaded
    finding = Finding.objects.create(
        participant=pet_web_trial.participant,
        scan=pet_web_trial.scan,
        upload=upload,
        code="X",
        severity="info",
        message="m",
    )
    scan_pk, participant_pk = pet_web_trial.scan.pk, pet_web_trial.participant.pk
    urls = [
        reverse(f"imaging:{name}", kwargs={"scan_pk": scan_pk})
        for name in (
            "scan_detail",
            "scan_state",
            "scan_mip",
            "scan_upload",
            "scan_mark_acquired",
            "voi_sphere_new",
            "voi_file_new",
        )
    ]
    urls.append(reverse("imaging:finding_acknowledge", kwargs={"scan_pk": scan_pk, "finding_pk": finding.pk}))
    urls += [
        reverse(f"imaging:{name}", kwargs={"participant_pk": participant_pk})
        for name in ("distribution", "distribution_plot", "distribution_csv")
    ]
    client.force_login(other_coordinator)
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"reason": "x"}).status_code == 404, url
    assert client.get(f"/api/v1/pet-uploads/{upload.pk}/").status_code == 404
    assert client.post(f"/api/v1/pet-scans/{scan_pk}/upload/", {}).status_code == 404
    writes = [
        u
        for u in urls
        if not u.endswith(("/", ".png", ".csv"))
        or "upload" in u
        or "vois" in u
        or "acquired" in u
        or "acknowledge" in u
    ]
    for user in (monitor, sponsor):
        client.force_login(user)
        for url in writes:
            if url.endswith(f"/scans/{scan_pk}/") or url.endswith("/state/"):
                continue
            assert client.post(url, {"reason": "x"}).status_code in (403, 405), url
        assert client.post(f"/api/v1/pet-scans/{scan_pk}/upload/", {}).status_code == 403
    assert SeriesUpload.objects.count() == 1


def test_voiding_a_blocked_upload_frees_the_scan_for_a_new_upload(
    client, pet_web_trial, pet_web_series, investigator, tmp_path
):
    from quant.pet.suv import ZR89_HALF_LIFE_S

    _info, directory = pet_web_series(half_life_s=ZR89_HALF_LIFE_S * 1.02)
    client.force_login(pet_web_trial.radiologist)
    url = reverse("imaging:scan_upload", kwargs={"scan_pk": pet_web_trial.scan.pk})
    assert client.post(url, {"files": _files(directory)}).status_code == 302
    blocked = SeriesUpload.objects.get()
    assert blocked.state == UploadState.BLOCKED
    again = client.post(url, {"files": _files(directory)}, HTTP_ACCEPT="application/json")
    assert again.status_code == 400 and "already uploaded" in again.json()["errors"]["files"][0]
    void = reverse(
        "record_void", kwargs={"app_label": "imaging", "model_name": "seriesupload", "object_pk": blocked.pk}
    )
    client.force_login(investigator)
    assert client.post(void, {"reason": "not an investigator's record"}).status_code == 403
    client.force_login(pet_web_trial.radiologist)
    assert client.post(void, {"reason": "wrong radionuclide in the header; scanner fixed"}).status_code == 302
    pet_web_trial.scan.refresh_from_db()
    assert pet_web_trial.scan.status == ScanStatus.ACQUIRED
    client.force_login(pet_web_trial.radiologist)
    assert client.post(url, {"files": _files(directory)}).status_code == 302
    assert SeriesUpload.objects.filter(voided=False).count() == 1
