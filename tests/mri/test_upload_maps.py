"""MR series upload (streamed, de-identified, chooser) and the map worker: maps recover the generated truth."""

from __future__ import annotations

import io
import os
import zipfile

import nibabel as nib
import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from mri.models import JobState, MrMapJob, MrSeriesUpload
from quant.mri import phantom_dicom as ph

SHAPE = (4, 3, 2)
TIMES = np.arange(0.0, 120.1, 6.0)
T10 = np.full(SHAPE, 1.3)
KTRANS = np.full(SHAPE, 0.2)
KTRANS[2:] = 0.1


def _zip(*dirs: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for d in dirs:
            for name in sorted(os.listdir(d)):
                zf.write(os.path.join(d, name), f"{os.path.basename(d)}/{name}")
    return buf.getvalue()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("mr_upload")
    params = {"ktrans_per_min": KTRANS, "ve": np.full(SHAPE, 0.3), "vp": np.full(SHAPE, 0.05)}
    out = {"dce": str(root / "dce"), "vfa": str(root / "vfa"), "dwi": str(root / "dwi")}
    ph.write_series(ph.dce_spec("extended_tofts", params, t10_s=T10, times_s=TIMES, delay_s=18.0), out["dce"])
    ph.write_series(ph.vfa_spec(T10), out["vfa"], enhanced=True)
    b = np.array([0, 500, 1000, 1500, 2000.0])
    ph.write_series(
        ph.dki_spec(np.full(SHAPE, 900.0), np.full(SHAPE, 1e-3), np.full(SHAPE, 0.8), b),
        out["dwi"],
        vendor_b="ge",
    )
    return out


def _upload(client, scan, data: bytes, kind: str, series_uid: str = ""):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("mri:upload", kwargs={"scan_pk": scan.pk}),
        {"kind": kind, "series_instance_uid": series_uid, "files": SimpleUploadedFile("series.zip", data)},
    )


@pytest.mark.django_db
def test_upload_chooser_deid_and_maps(
    client_for, radiologist, participant, generated, django_capture_on_commit_callbacks
) -> None:
    scan = participant.scans.get(visit__code="BL_MRI")
    client = client_for(radiologist)
    page = client.get(reverse("mri:scan", kwargs={"scan_pk": scan.pk}))
    assert page.status_code == 200 and b"Upload an MR series" in page.content
    pet = participant.scans.get(visit__code="BL_PET1")
    assert client.get(reverse("mri:scan", kwargs={"scan_pk": pet.pk})).status_code == 404

    both = _zip(generated["dce"], generated["vfa"])
    resp = _upload(client, scan, both, "dce")
    assert resp.status_code == 400 and b"choose one" in resp.content and b"DCE extended_tofts" in resp.content
    assert not MrSeriesUpload.objects.exists()  # nothing stored before the choice
    dce_uid = str(
        pydicom.dcmread(
            os.path.join(generated["dce"], sorted(os.listdir(generated["dce"]))[0])
        ).SeriesInstanceUID
    )
    assert _upload(client, scan, both, "dce", dce_uid).status_code == 302
    assert _upload(client, scan, _zip(generated["vfa"]), "vfa").status_code == 302
    assert _upload(client, scan, _zip(generated["dwi"]), "dwi").status_code == 302
    assert _upload(client, scan, _zip(generated["dwi"]), "dwi").status_code == 400  # same series twice
    dce, vfa, dwi = MrSeriesUpload.objects.order_by("id")
    assert dce.acquisition["times_s"] == pytest.approx(TIMES.tolist(), abs=1e-3)
    assert vfa.acquisition["flip_deg"] == [2.0, 5.0, 10.0, 15.0, 20.0]
    assert dwi.acquisition["b_values"] == [
        0.0,
        500.0,
        1000.0,
        1500.0,
        2000.0,
    ]  # GE private b kept as standard tag
    stored = pydicom.dcmread(default_storage.open(f"{dwi.storage_dir}/00000.dcm"))
    assert str(stored.PatientName) == participant.study_id and stored.PatientIdentityRemoved == "YES"
    assert (0x0043, 0x1039) not in stored and float(stored.DiffusionBValue) in (
        0.0,
        500.0,
        1000.0,
        1500.0,
        2000.0,
    )
    assert stored.SeriesInstanceUID != str(
        pydicom.dcmread(os.path.join(generated["dwi"], "IM_000_000.dcm")).SeriesInstanceUID
    )

    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(
            reverse("mri:job_create", kwargs={"scan_pk": scan.pk}),
            {"series": dce.pk, "model": "extended_tofts", "vfa": vfa.pk, "r1": 4.5, "hematocrit": 0.45},
        )
    assert resp.status_code == 302
    job = MrMapJob.objects.get()
    assert job.state == JobState.DONE, job.message
    maps = {m.parameter: m for m in job.maps.all()}
    assert {"ktrans_per_min", "ve", "vp", "kep_per_min", "delay_s"} <= set(maps)
    assert maps["ve"].stats["median"] == pytest.approx(0.3, rel=0.01)
    assert maps["delay_s"].stats["median"] == pytest.approx(18.0, abs=0.5)
    ktrans = np.asarray(nib.load(default_storage.path(maps["ktrans_per_min"].nifti_path)).dataobj)
    assert ktrans[:2] == pytest.approx(np.full((2, 3, 2), 0.2), rel=0.01)
    assert ktrans[2:] == pytest.approx(np.full((2, 3, 2), 0.1), rel=0.01)
    pm = pydicom.dcmread(default_storage.open(maps["ktrans_per_min"].parametric_map_path))
    assert pm.SOPClassUID == "1.2.840.10008.5.1.4.1.1.30" and pm.NumberOfFrames == 2
    frame_z = [
        float(f.PlanePositionSequence[0].ImagePositionPatient[2]) for f in pm.PerFrameFunctionalGroupsSequence
    ]
    k0 = frame_z.index(20.0)
    np.testing.assert_allclose(pm.pixel_array[k0].T, ktrans[:, :, 0], rtol=1e-6)
    assert (
        job.provenance["t10_source"].startswith("VFA")
        and job.provenance["inputs"]["series"]["sha256"] == dce.stored_checksums
    )
    assert job.provenance["aif"] == "Parker 2006 population AIF" and job.provenance["engine"]
    page = client.get(reverse("mri:scan", kwargs={"scan_pk": scan.pk}))
    assert page.content.count(b'alt="') >= 5 and b"Ktrans (/min)" in page.content
    png = client.get(reverse("mri:map_preview", kwargs={"map_pk": maps["ktrans_per_min"].pk}))
    assert png.status_code == 200 and b"".join(png.streaming_content)[:4] == b"\x89PNG"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("mri:job_create", kwargs={"scan_pk": scan.pk}),
            {"series": dwi.pk, "model": "dki", "r1": 4.5, "hematocrit": 0.45},
        )
    dki = MrMapJob.objects.get(model="dki")
    assert dki.state == JobState.DONE
    assert dki.summary["k"]["median"] == pytest.approx(0.8, abs=0.01)
    assert dki.summary["d_mm2_per_s"]["median"] == pytest.approx(1e-3, rel=0.01)


@pytest.mark.django_db
def test_roi_sphere_nifti_and_seg_on_maps(
    tmp_media, client_for, radiologist, participant, generated, django_capture_on_commit_callbacks, tmp_path
) -> None:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    scan = participant.scans.get(visit__code="BL_MRI")
    client = client_for(radiologist)
    assert _upload(client, scan, _zip(generated["dce"]), "dce").status_code == 302
    dce = MrSeriesUpload.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("mri:job_create", kwargs={"scan_pk": scan.pk}),
            {"series": dce.pk, "model": "extended_tofts", "t10_ms": 1300, "r1": 4.5, "hematocrit": 0.45},
        )
    job = MrMapJob.objects.get()
    url = reverse("mri:roi_add", kwargs={"job_pk": job.pk})
    # Sphere on voxel (3, 1, 1): centre (-6 + 6, -4 + 2, 20 + 3) mm, in the Ktrans 0.1 region.
    assert client.post(url, {"name": "T1", "sphere": "0,-2,23,1"}).status_code == 302
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[:2] = 1
    from django.core.files.uploadedfile import SimpleUploadedFile

    nii = nib.Nifti1Image(mask, np.eye(4)).to_bytes()
    resp = client.post(url, {"name": "N1", "file": SimpleUploadedFile("n1.nii", nii)})
    assert resp.status_code == 302, resp.content.decode()[resp.content.decode().find("errorbox") :][:300]
    src = [pydicom.dcmread(os.path.join(generated["dce"], f"IM_000_{k:03d}.dcm")) for k in range(2)]
    seg_pixels = np.zeros((2, SHAPE[1], SHAPE[0]), dtype=np.uint8)
    seg_pixels[:, :, 2:] = 1  # x >= 2 on both slices
    seg = hd.seg.Segmentation(
        source_images=src,
        pixel_array=seg_pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[
            hd.seg.SegmentDescription(
                segment_number=1,
                segment_label="M1",
                segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
                segmented_property_type=codes.SCT.Neoplasm,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            )
        ],
        series_instance_uid=pydicom.uid.generate_uid(),
        series_number=50,
        sop_instance_uid=pydicom.uid.generate_uid(),
        instance_number=1,
        manufacturer="test",
        manufacturer_model_name="test",
        software_versions="1",
        device_serial_number="1",
    )
    buf = io.BytesIO()
    seg.save_as(buf)
    assert (
        client.post(url, {"name": "S", "file": SimpleUploadedFile("seg.dcm", buf.getvalue())}).status_code
        == 302
    )
    rois = {r.name: r for r in job.rois.all()}
    assert rois["T1"].voxel_count == 1 and rois["N1"].voxel_count == 12 and rois["S:M1"].voxel_count == 12
    assert rois["T1"].stats["ktrans_per_min"]["median"] == pytest.approx(0.1, rel=0.01)
    assert rois["N1"].stats["ktrans_per_min"]["median"] == pytest.approx(0.2, rel=0.01)
    assert rois["S:M1"].stats["ktrans_per_min"]["median"] == pytest.approx(0.1, rel=0.01)
    assert rois["N1"].stats["ve"]["q1"] == pytest.approx(0.3, rel=0.01)
    assert (
        client.post(url, {"name": "X", "sphere": "500,0,0,1"}).status_code == 400
    )  # outside the grid: form error
    page = client.get(reverse("mri:scan", kwargs={"scan_pk": scan.pk}))
    assert b"S:M1" in page.content and b"0.1000" in page.content
