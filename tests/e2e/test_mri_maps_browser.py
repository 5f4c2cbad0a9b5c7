"""A radiologist uploads a generated DCE series and its VFA T1 series on the MRI scan page, asks for extended
Tofts maps and sees the map previews (Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mri.models import MrMapJob
from quant.mri import phantom_dicom as ph
from tests.lesions.helpers import lesion

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/work/shots/mri")


def test_dce_upload_and_maps_in_the_browser(
    settings, tmp_path, participant, radiologist, page, login
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.UPLOAD_TMP_DIR = tmp_path / "upload_tmp"
    settings.UPLOAD_TMP_DIR.mkdir()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shape = (12, 10, 2)
    yy, xx = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]))
    ktrans = np.repeat((0.05 + 0.25 * xx / (shape[0] - 1))[..., None], 2, axis=2)
    t10 = np.full(shape, 1.2)
    params = {"ktrans_per_min": ktrans, "ve": np.full(shape, 0.3), "vp": np.full(shape, 0.04)}
    times = np.arange(0.0, 120.1, 5.0)
    ph.write_series(
        ph.dce_spec("extended_tofts", params, t10_s=t10, times_s=times, delay_s=15.0), str(tmp_path / "dce")
    )
    ph.write_series(ph.vfa_spec(t10), str(tmp_path / "vfa"), enhanced=True)
    scan = participant.scans.get(visit__code="BL_MRI")

    login(radiologist)
    page.goto(f"/participants/{participant.pk}/")
    page.click(f"a[href='/mri/scans/{scan.pk}/']")
    page.wait_for_selector("#mr-upload-form")
    for kind, folder in (("dce", "dce"), ("vfa", "vfa")):
        page.select_option("#id_kind", kind)
        page.set_input_files("#id_files", [str(p) for p in sorted((tmp_path / folder).iterdir())])
        page.click("#mr-upload-form button:has-text('Upload')")
        page.wait_for_url(f"**/mri/scans/{scan.pk}/")
    assert "Dynamic contrast-enhanced" in page.inner_text("section.card")
    page.screenshot(path=str(SHOTS / "mri-series-uploaded.png"), full_page=True)
    page.select_option(
        "#map-job-form select[name=series]",
        label=page.inner_text("#map-job-form select[name=series] option:nth-child(2)"),
    )
    page.select_option("#map-job-form select[name=model]", "extended_tofts")
    page.select_option("#map-job-form select[name=vfa]", index=1)
    page.click("#map-job-form button:has-text('Make maps')")
    page.wait_for_selector("figure.map img")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('figure.map img')).every(i => i.complete && i.naturalWidth > 0)"
    )
    captions = page.inner_text("#mri-jobs")
    assert "Maps ready" in captions and "Ktrans (/min)" in captions
    # ve is 0.30 everywhere in the noise-free phantom: the map's median within 0.5 % (bolus arrival detected)
    ve_median = float(re.search(r"\nve \(colour bar.*?median (\d+\.\d+)", captions, re.S).group(1))
    assert ve_median == pytest.approx(0.30, rel=0.005), captions
    # A sphere ROI on voxel (11, 0, 0), centre (16, -4, 20) mm, where Ktrans = 0.30 /min.
    page.fill("form.roi-form input[name=name]", "T1")
    page.fill("form.roi-form input[name=sphere]", "16,-4,20,1")
    page.click("form.roi-form button:has-text('Add ROI')")
    page.wait_for_selector("table.rois td:has-text('T1')")
    assert "0.3000" in page.inner_text("table.rois tr:has(td:has-text('T1'))")
    page.screenshot(path=str(SHOTS / "mri-maps.png"), full_page=True)
    job = MrMapJob.objects.get()
    # Every stored map has a loaded preview image (Ktrans first), and the imaging scan page leads here.
    page.wait_for_function(
        "Array.from(document.querySelectorAll('figure.map img')).every(i => i.complete && i.naturalWidth > 0)"
    )
    loaded = page.evaluate(
        "Array.from(document.querySelectorAll('figure.map img')).filter(i => i.complete && i.naturalWidth > 0)"
        ".map(i => i.alt)"
    )
    assert loaded == [f"{m.label} map" for m in job.maps.all()] and loaded[0] == "Ktrans (/min) map"
    page.goto(f"/imaging/scans/{scan.pk}/")
    page.click("#mri-page-link")
    page.wait_for_url(f"**/mri/scans/{scan.pk}/")
    page.wait_for_selector("figure.map img")
    # The registry lesion T1 takes its MRI parameter set from a sphere on these maps (lesion page form).
    t1 = lesion(radiologist, participant, "T1", "liver")
    page.goto(f"/lesions/lesion/{t1.pk}/")
    page.click("#mri-maps-roi")
    page.select_option("select[name=job]", str(job.pk))
    page.fill("input[name=sphere]", "16,-4,20,1")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"**/lesions/lesion/{t1.pk}/")
    row = page.inner_text("#mri-parameters")
    assert "Voxel-wise maps" in row and "1 / 0.012" in row and "0.3" in row
    page.screenshot(path=str(SHOTS / "lesion-mri-parameters.png"), full_page=True)
    assert job.summary["ve"]["median"] == pytest.approx(0.3, rel=0.01)
    assert job.summary["ktrans_per_min"]["median"] == pytest.approx(float(np.median(ktrans)), rel=0.01)
