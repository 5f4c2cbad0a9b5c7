"""The PET viewer on the scan page (niivue, WebGL2 through SwiftShader in headless Chromium): the SUV volume is
drawn, a click in the axial then the coronal view puts the lesion's patient position into the sphere VOI form,
saving it shows the SUV metrics, and the VOI is then drawn outlined and labelled."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from imaging.models import SeriesUpload, UploadState, Voi, VoiResult
from tests.imaging.conftest import make_trial, series_maker, use_tmp_media

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/work/shots/viewer")

# canvas pixel position (niivue's own forward mapping) of a RAS point projected on the current slice of a view
POSITION_JS = """([ras, sliceType]) => {
  const box = document.getElementById('pet-viewer'); const nv = box.niivue;
  const cross = nv.frac2mm(nv.scene.crosshairPos);
  const point = sliceType === 0 ? [ras[0], ras[1], cross[2]] : [ras[0], cross[1], ras[2]];
  const hit = nv.frac2canvasPosWithTile(nv.mm2frac(point), sliceType);
  const canvas = document.getElementById('viewer-canvas'); const rect = canvas.getBoundingClientRect();
  const scale = canvas.width / rect.width;
  return hit ? [rect.left + hit.pos[0] / scale, rect.top + hit.pos[1] / scale] : null;
}"""


@pytest.fixture
def processed(settings, tmp_path, coordinator, site_nl, radiologist):
    use_tmp_media(settings, tmp_path)
    trial = make_trial(coordinator, site_nl, radiologist)
    info, directory = series_maker(tmp_path)()
    client = Client()
    client.force_login(radiologist)
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(directory.iterdir())]
    response = client.post(
        reverse("imaging:scan_upload", kwargs={"scan_pk": trial.scan.pk}), {"files": files}
    )
    assert response.status_code == 302
    upload = SeriesUpload.objects.get()
    assert upload.state == UploadState.DONE, upload.state_message  # eager worker ran on commit
    return trial, info


def _canvas_pixels(page) -> np.ndarray:
    png = page.locator("#viewer-canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_a_click_in_the_viewer_places_a_sphere_voi_and_its_metrics_show(processed, page, login):
    trial, info = processed
    lesion = max(info.lesions, key=lambda les: les.suv)
    login(trial.radiologist)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None
        ),
    )
    response = page.goto(f"/imaging/scans/{trial.scan.pk}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]  # viewer runs under the CSP
    page.wait_for_function("document.getElementById('pet-viewer').dataset.ready")
    assert page.get_attribute("#pet-viewer", "data-ready") == "1", page.inner_text("#viewer-location")
    pixels = _canvas_pixels(page)
    lit = (pixels.max(axis=2) > 40).mean()
    colours = len(np.unique(pixels.reshape(-1, 3) // 16, axis=0))
    assert lit > 0.02 and colours > 20, (lit, colours)  # drawn: PET slices, not a blank canvas
    assert page.input_value("#sphere-form input[name=centre_x]") == ""

    ras = [-lesion.centre_mm[0], -lesion.centre_mm[1], lesion.centre_mm[2]]
    for slice_type in (0, 1):  # axial: sets x, y; coronal (now through the lesion): sets x, z
        xy = page.evaluate(POSITION_JS, [ras, slice_type])
        assert xy is not None
        page.mouse.click(xy[0], xy[1])
        page.wait_for_timeout(150)
    filled = [float(page.input_value(f"#sphere-form input[name=centre_{a}]")) for a in "xyz"]
    assert np.allclose(filled, lesion.centre_mm, atol=2.5), (filled, lesion.centre_mm)  # within a 4 mm voxel
    status = page.inner_text("#viewer-location")
    shown_suv = float(status.rsplit("SUV", 1)[1].strip())
    assert shown_suv == pytest.approx(lesion.suv, rel=0.05), status  # the displayed voxel there is the lesion
    _shot(page, "viewer-click-filled")

    page.select_option("#sphere-form select[name=kind]", "lesion")
    page.fill("#sphere-form input[name=name]", "Clicked")
    page.fill("#sphere-form input[name=radius_mm]", str(lesion.radius_mm))
    page.dispatch_event("#sphere-form input[name=radius_mm]", "change")
    # The sphere's metrics show before it is saved, and nothing is stored by showing them.
    page.wait_for_selector("#sphere-preview[data-state=ready]")
    assert "Not saved yet: SUVmax" in page.inner_text("#sphere-preview")
    preview_max = float(page.get_attribute("#sphere-preview", "data-suv-max"))
    preview_mean = float(page.get_attribute("#sphere-preview", "data-suv-mean"))
    assert not Voi.objects.filter(name="Clicked").exists()
    _shot(page, "viewer-sphere-preview")
    page.click("#sphere-form button:has-text('Add sphere')")
    page.wait_for_selector("table.suv td:has-text('Clicked')")
    row = page.inner_text("table.suv tr:has(td:has-text('Clicked'))")
    result = VoiResult.objects.get(voi=Voi.objects.get(name="Clicked"))
    assert f"{result.suv_max:.3f}" in row and f"{result.suv_mean:.3f}" in row
    assert result.suv_max == pytest.approx(lesion.suv, rel=0.01)
    # The preview equals what the worker stored (float32 viewer volume: within 1e-6).
    assert preview_max == pytest.approx(result.suv_max, rel=1e-6)
    assert preview_mean == pytest.approx(result.suv_mean, rel=1e-6)

    page.wait_for_function("document.getElementById('pet-viewer').dataset.ready")
    assert "Clicked" in page.inner_text("#viewer-legend")
    page.locator("#viewer-canvas").scroll_into_view_if_needed()  # clicks go to viewport positions
    for slice_type in (0, 1):  # bring the crosshair onto the VOI so its label shows
        xy = page.evaluate(POSITION_JS, [ras, slice_type])
        page.mouse.click(xy[0], xy[1])
        page.wait_for_timeout(150)
    page.wait_for_selector("#viewer-labels .viewer-label[data-voi='Clicked']")
    _shot(page, "viewer-voi-outlined")
    # (last: the element screenshot scrolls the page) The saved VOI is outlined and labelled on the enlarged coronal MIP.
    mip = page.locator("svg.mip")
    assert mip.locator("g.mip-voi text", has_text="Clicked").count() == 1
    assert mip.bounding_box()["width"] >= 480  # shown at its enlarged size (the phantom is 40 x 12 voxels)
    mip.screenshot(path=str(SHOTS / "mip-overlay.png"))
    assert not errors, errors
