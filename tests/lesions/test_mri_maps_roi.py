"""A registry lesion's MRI parameter set from an ROI on the maps of an MR DICOM series with known parameters
(sphere, NIfTI mask, DICOM SEG, RTSTRUCT): medians equal the truth, spread, voxel count and volume stored,
audited, shown on the lesion page."""

from __future__ import annotations

import io
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from lesions.models import MriParameterSet
from lesions.services.mri_maps import lesion_parameters_from_maps
from mri import services as mri_services
from mri.models import JobState, MrMapJob, MrRoi
from quant.mri import phantom_dicom as ph
from quant.pet.phantom import write_rtstruct
from tests.exports.helpers import issue, token_client
from tests.factories import ctx_for
from tests.lesions.helpers import lesion
from trial.models import AuditEntry

SHAPE = (6, 5, 2)  # voxel (i, j, k) centre = (-6 + 2i, -4 + 2j, 20 + 3k) mm; voxel 2 x 2 x 3 mm = 0.012 mL
VOXEL_ML = 0.012
TIMES = np.arange(0.0, 160.1, 4.0)


def _regions(a: float, b: float) -> np.ndarray:
    out = np.full(SHAPE, a)
    out[3:] = b  # x index >= 3
    return out


TRUTH = {"ktrans_per_min": _regions(0.25, 0.12), "ve": _regions(0.35, 0.2), "vp": _regions(0.04, 0.08)}
# Tolerances on the lesion's medians (noise-free series, Parker AIF, bolus arrival detected from the data).
REL_KTRANS_VE = 0.02
ABS_VP = 0.005


@pytest.fixture(scope="module")
def dce_dir(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("lesion_maps") / "dce")
    spec = ph.dce_spec("extended_tofts", TRUTH, t10_s=np.full(SHAPE, 1.3), times_s=TIMES, delay_s=15.0)
    ph.write_series(spec, out)
    return out


@pytest.fixture
def job(radiologist, participant, dce_dir, tmp_path) -> MrMapJob:
    scan = participant.scans.get(visit__code="BL_MRI")
    files = [(Path(dce_dir) / n, n) for n in sorted(os.listdir(dce_dir))]
    work = tmp_path / "work"
    work.mkdir()
    series = mri_services.series_upload_ingest(
        ctx=ctx_for(radiologist), scan=scan, kind="dce", files=files, work_dir=work
    )
    job = MrMapJob.objects.create(
        participant=participant, scan=scan, series=series, model="extended_tofts", options={"t10_ms": 1300}
    )
    mri_services.map_job_run(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.message
    return job


def _assert_truth(ps: MriParameterSet, region: int) -> None:
    idx = (0, 0, 0) if region == 0 else (5, 0, 0)
    assert ps.ktrans_per_min == pytest.approx(TRUTH["ktrans_per_min"][idx], rel=REL_KTRANS_VE)
    assert ps.ve == pytest.approx(TRUTH["ve"][idx], rel=REL_KTRANS_VE)
    assert ps.vp == pytest.approx(TRUTH["vp"][idx], abs=ABS_VP)
    assert ps.kep_per_min == pytest.approx(TRUTH["ktrans_per_min"][idx] / TRUTH["ve"][idx], rel=0.03)


@pytest.mark.django_db
def test_sphere_nifti_seg_and_rtstruct_give_the_lesions_parameters(
    radiologist, participant, job, dce_dir, tmp_path, client_for, data_manager, sponsor
) -> None:
    t1 = lesion(radiologist, participant, "T1", "liver")
    n1 = lesion(radiologist, participant, "N1", "lymph node", nodal=True)
    m1 = lesion(radiologist, participant, "M1", "liver", role="non_target")
    r1 = lesion(radiologist, participant, "R1", "lung", role="non_target")
    ctx = ctx_for(radiologist)

    # Sphere of radius 2.1 mm around voxel (1, 2, 0): that voxel and its 4 in-plane neighbours (region x < 3).
    ps = lesion_parameters_from_maps(ctx=ctx, lesion=t1, job=job, sphere="-4,0,20,2.1")
    _assert_truth(ps, 0)
    assert ps.voxel_count == 5 and ps.volume_ml == pytest.approx(5 * VOXEL_ML)
    assert ps.kind == "dce" and ps.method == "voxelwise" and ps.model == "extended_tofts"
    assert ps.mr_roi.name == "T1" and ps.mr_roi.source == "sphere"
    assert ps.spread["ktrans_per_min"]["q1"] == pytest.approx(0.25, rel=REL_KTRANS_VE)
    assert ps.spread["ktrans_per_min"]["n_voxels"] == 5 and "display_min" not in ps.spread["ve"]
    assert ps.provenance["mr_map_job"] == job.pk and ps.provenance["aif"] == "Parker 2006 population AIF"

    # NIfTI mask: x >= 3 on both slices (30 voxels).
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[3:] = 1
    ps = lesion_parameters_from_maps(
        ctx=ctx, lesion=n1, job=job, nifti=nib.Nifti1Image(mask, np.eye(4)).to_bytes()
    )
    _assert_truth(ps, 1)
    assert ps.voxel_count == 30 and ps.volume_ml == pytest.approx(30 * VOXEL_ML)

    # DICOM SEG on the series grid, one segment: x < 2 on both slices.
    seg_pixels = np.zeros((2, SHAPE[1], SHAPE[0]), dtype=np.uint8)
    seg_pixels[:, :, :2] = 1
    ps = lesion_parameters_from_maps(ctx=ctx, lesion=m1, job=job, seg=_seg(dce_dir, seg_pixels))
    _assert_truth(ps, 0)
    assert ps.voxel_count == 20 and ps.mr_roi.source == "seg" and ps.mr_roi.name == "M1"

    # RTSTRUCT drawn on the original (identified) series, in its frame of reference: de-identified with the
    # participant's UID mapping and rasterised by the PET code onto the stored series' grid.
    rt_mask = np.zeros((2, SHAPE[1], SHAPE[0]), dtype=bool)  # [z, y, x]
    rt_mask[:, 1:4, 4:6] = True
    rt = tmp_path / "rt.dcm"
    write_rtstruct(str(rt), _first_volume(dce_dir), {"GTV": rt_mask, "Other": ~rt_mask})
    with pytest.raises(ValidationError, match="name the RTSTRUCT ROI"):
        lesion_parameters_from_maps(ctx=ctx, lesion=r1, job=job, rtstruct=rt.read_bytes())
    ps = lesion_parameters_from_maps(ctx=ctx, lesion=r1, job=job, rtstruct=rt.read_bytes(), segment="GTV")
    _assert_truth(ps, 1)
    assert ps.voxel_count == 12 and ps.volume_ml == pytest.approx(12 * VOXEL_ML)
    assert ps.mr_roi.source == "rtstruct" and ps.mr_roi.definition["roi"] == "GTV"

    # Audited: the MrRoi and the parameter set, one entry each per link.
    for model, n in (("mrroi", 4), ("mriparameterset", 4)):
        assert AuditEntry.objects.filter(model=model, action="create").count() == n

    # The same ROI label from the same maps twice is refused; nothing half-stored.
    with pytest.raises(ValidationError, match="already has its parameters"):
        lesion_parameters_from_maps(ctx=ctx, lesion=t1, job=job, sphere="-4,0,20,2.1")
    assert MrRoi.objects.count() == 4

    # The sponsor's export carries the ROI, its voxel count, volume and the spread of every map.
    _token, key = issue(data_manager, sponsor)
    rows = token_client(key).get("/api/v1/export/mri-parameters/", {"page_size": 10}).json()["results"]
    row = next(r for r in rows if r["lesion_label"] == "R1")
    assert row["voxel_count"] == 12 and row["volume_ml"] == pytest.approx(12 * VOXEL_ML)
    assert row["mr_roi"] == ps.mr_roi_id
    assert row["spread"]["ktrans_per_min"]["median"] == pytest.approx(row["ktrans_per_min"])

    client = client_for(radiologist)
    page = client.get(reverse("lesions:lesion", kwargs={"lesion_pk": t1.pk})).content.decode()
    assert 'id="mri-parameters"' in page and "5 / 0.060" in page and "IQR 0.25" in page
    ps_t1 = MriParameterSet.objects.get(roi__lesion=t1)
    detail = client.get(reverse("lesions:parameter_set", kwargs={"paramset_pk": ps_t1.pk})).content.decode()
    assert 'id="mri-spread"' in detail and f"/mri/scans/{job.scan_id}/" in detail


@pytest.mark.django_db
def test_the_lesion_page_form_links_an_roi_and_refuses_bad_input(
    radiologist, participant, job, client_for, other_coordinator
) -> None:
    t1 = lesion(radiologist, participant, "T1", "liver")
    client = client_for(radiologist)
    url = reverse("lesions:lesion_map_roi", kwargs={"lesion_pk": t1.pk})
    page = client.get(url)
    assert page.status_code == 200 and f'value="{job.pk}"' in page.content.decode()
    resp = client.post(url, {"job": job.pk, "roi_label": "whole lesion", "sphere": "500,0,0,1"})
    assert resp.status_code == 400 and "holds no voxel centre" in resp.content.decode()
    assert not MriParameterSet.objects.exists() and not MrRoi.objects.exists()
    resp = client.post(url, {"job": job.pk, "roi_label": "whole lesion", "sphere": "4,0,23,0.5"})
    assert resp.status_code == 302
    ps = MriParameterSet.objects.get()
    assert ps.voxel_count == 1 and ps.ktrans_per_min == pytest.approx(0.12, rel=REL_KTRANS_VE)
    # Another site's user sees neither the lesion's form nor its jobs.
    assert client_for(other_coordinator).get(url).status_code == 404


@pytest.mark.django_db
def test_a_job_of_another_participant_or_not_done_is_refused(
    radiologist, coordinator, participant, job, site_nl
) -> None:
    from tests.factories import enrol

    other = lesion(radiologist, enrol(coordinator, site_nl), "T1", "liver")
    with pytest.raises(ValidationError, match="another participant"):
        lesion_parameters_from_maps(ctx=ctx_for(radiologist), lesion=other, job=job, sphere="-4,0,20,2.1")
    t1 = lesion(radiologist, participant, "T1", "liver")
    MrMapJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    job.refresh_from_db()
    with pytest.raises(ValidationError, match="not ready"):
        lesion_parameters_from_maps(ctx=ctx_for(radiologist), lesion=t1, job=job, sphere="-4,0,20,2.1")
    assert not MriParameterSet.objects.exists()


@pytest.mark.django_db
def test_voiding_the_map_roi_voids_its_parameter_set_and_restoring_restores_it(
    radiologist, participant, job, client_for, coordinator
) -> None:
    t1 = lesion(radiologist, participant, "T1", "liver")
    n1 = lesion(radiologist, participant, "N1", "lymph node", nodal=True)
    ctx = ctx_for(radiologist)
    ps = lesion_parameters_from_maps(ctx=ctx, lesion=t1, job=job, sphere="-4,0,20,2.1")
    other = lesion_parameters_from_maps(ctx=ctx, lesion=n1, job=job, sphere="4,0,23,0.5")
    other_void = reverse("record_void", args=["lesions", "mriparameterset", other.pk])
    assert (
        client_for(radiologist).post(other_void, {"reason": "placed on the wrong lesion"}).status_code == 302
    )
    url = reverse("record_void", args=["mri", "mrroi", ps.mr_roi_id])
    # A coordinator may not void imaging records.
    assert client_for(coordinator).post(url, {"reason": "x"}).status_code in (403, 404)
    page = client_for(radiologist).get(reverse("mri:scan", args=[job.scan_id])).content.decode()
    assert url in page and "Void ROI" in page
    assert url not in client_for(coordinator).get(reverse("mri:scan", args=[job.scan_id])).content.decode()
    resp = client_for(radiologist).post(url, {"reason": "sphere off the lesion"})
    assert resp.status_code == 302
    ps.refresh_from_db()
    assert ps.voided and "ROI #" in ps.void_reason and "sphere off the lesion" in ps.void_reason
    entry = AuditEntry.objects.filter(model="mriparameterset", object_id=str(ps.pk), action="void").get()
    assert entry.reason == ps.void_reason
    # Restoring the ROI restores the set the cascade voided, not the one voided by hand.
    assert client_for(radiologist).post(url, {"reason": "void was a mistake"}).status_code == 302
    ps.refresh_from_db()
    other.refresh_from_db()
    assert not ps.voided and other.voided
    assert AuditEntry.objects.filter(model="mriparameterset", object_id=str(ps.pk), action="restore").exists()


@pytest.mark.django_db
def test_the_roi_gives_the_lesions_volume_and_the_ibsi_texture_of_a_map(
    radiologist, participant, job, client_for
) -> None:
    from lesions import tasks
    from lesions.models import MaskAnalysis

    t1 = lesion(radiologist, participant, "T1", "liver")
    url = reverse("lesions:lesion_map_roi", kwargs={"lesion_pk": t1.pk})
    client = client_for(radiologist)
    page = client.get(url).content.decode()
    assert 'value="ktrans_per_min"' in page and "Texture bin width" in page
    resp = client.post(
        url,
        {"job": job.pk, "roi_label": "whole lesion", "sphere": "4,0,23,3.5", "texture_map": "ktrans_per_min"},
    )
    assert resp.status_code == 400 and "positive fixed bin width" in resp.content.decode()
    assert not MaskAnalysis.objects.exists() and not MriParameterSet.objects.exists()
    resp = client.post(
        url,
        {
            "job": job.pk,
            "roi_label": "whole lesion",
            "sphere": "4,0,23,3.5",
            "texture_map": "ktrans_per_min",
            "bin_width": "0.01",
        },
    )
    assert resp.status_code == 302
    ps = MriParameterSet.objects.get()
    analysis = MaskAnalysis.objects.get()
    assert analysis.mr_roi_id == ps.mr_roi_id and analysis.lesion == t1 and analysis.status == "pending"
    assert tasks.analyse_mask(analysis.pk) == "done"
    analysis.refresh_from_db()
    # The ROI holds region 1 only (x >= 3): Ktrans 0.12 everywhere, so the texture's mean is the median.
    assert analysis.voxel_count == ps.voxel_count
    assert analysis.voxel_volume_mm3 == pytest.approx(ps.volume_ml * 1000)
    feats = analysis.texture_features
    assert feats["stat_mean"] == pytest.approx(ps.ktrans_per_min, rel=REL_KTRANS_VE)
    assert feats["stat_mean"] == pytest.approx(0.12, rel=REL_KTRANS_VE)
    assert "cm_contrast_3D_avg" in feats and "szm_sze_3D" in feats and "morph_volume" in feats
    # Voiding the ROI voids the texture analysis with the parameter set.
    void = reverse("record_void", args=["mri", "mrroi", ps.mr_roi_id])
    assert client.post(void, {"reason": "wrong lesion"}).status_code == 302
    analysis.refresh_from_db()
    assert analysis.voided and "ROI #" in analysis.void_reason


def _first_volume(dce_dir: str) -> list[str]:
    return [os.path.join(dce_dir, f"IM_000_{k:03d}.dcm") for k in range(SHAPE[2])]


def _seg(dce_dir: str, pixels: np.ndarray) -> bytes:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    src = [pydicom.dcmread(p) for p in _first_volume(dce_dir)]
    seg = hd.seg.Segmentation(
        source_images=src,
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[
            hd.seg.SegmentDescription(
                segment_number=1,
                segment_label="lesion",
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
    return buf.getvalue()
