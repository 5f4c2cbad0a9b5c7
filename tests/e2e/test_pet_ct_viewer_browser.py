"""The PET viewer with a linked CT (niivue in headless Chromium): the CT is the grey base volume, the SUV a colour
overlay with an opacity control; the viewer reports itself fused, the CT window control changes the grey, SUV below
the window's lower bound is not drawn over the CT (colormapType "zero to max, nothing below min", kept when the
window moves: the CT's grey there equals the CT-only rendering), and a click on the lesion shows the SUV there (not
the CT's HU) and fills the sphere VOI form. A CT uploaded afterwards on the scan page is linked and fused."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from imaging.models import LinkedCt, SeriesUpload, UploadState
from tests.e2e.test_pet_viewer_browser import POSITION_JS
from tests.imaging.conftest import make_trial, series_maker, use_tmp_media
from tests.imaging.ct_phantom import write_ct

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/work/shots/h14a")


def _processed_pet(settings, tmp_path, coordinator, site_nl, radiologist, *, with_ct: bool):
    """A PET scan processed by the eager worker, uploaded with its CT or not; the CT of the same PET/CT is
    written beside it either way."""
    use_tmp_media(settings, tmp_path)
    trial = make_trial(coordinator, site_nl, radiologist)
    info, directory = series_maker(tmp_path)()
    ct = write_ct(
        tmp_path / "ct", pet_origin=info.origin, frame_uid=info.uids["frame"], study_uid=info.uids["study"]
    )
    client = Client()
    client.force_login(radiologist)
    paths = [*sorted(directory.iterdir()), *(ct.files if with_ct else [])]
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in paths]
    response = client.post(
        reverse("imaging:scan_upload", kwargs={"scan_pk": trial.scan.pk}), {"files": files}
    )
    assert response.status_code == 302
    upload = SeriesUpload.objects.get()
    assert upload.state == UploadState.DONE, upload.state_message  # eager worker ran on commit
    assert LinkedCt.objects.filter(upload=upload).count() == int(with_ct)
    return trial, info, ct


@pytest.fixture
def processed_with_ct(settings, tmp_path, coordinator, site_nl, radiologist):
    trial, info, _ct = _processed_pet(settings, tmp_path, coordinator, site_nl, radiologist, with_ct=True)
    return trial, info


# Where a patient point (RAS mm) is drawn on the axial view, in CSS pixels of the canvas (its screenshot's pixels).
CANVAS_XY_JS = """(ras) => {
  const nv = document.getElementById('pet-viewer').niivue;
  const cross = nv.frac2mm(nv.scene.crosshairPos);
  const hit = nv.frac2canvasPosWithTile(nv.mm2frac([ras[0], ras[1], cross[2]]), 0);
  const canvas = document.getElementById('viewer-canvas');
  const scale = canvas.width / canvas.getBoundingClientRect().width;
  return hit ? [hit.pos[0] / scale, hit.pos[1] / scale] : null;
}"""
SUV_LAYER_JS = """(() => { const v = document.getElementById('pet-viewer').niivue.volumes[1];
  return {name: v.name, type: v.colormapType, cal_min: v.cal_min, cal_max: v.cal_max}; })()"""
SUV_OVER_CT_TYPE = (
    2  # niivue 0.69: its volume shader sets alpha 0 for 0 < SUV < cal_min with type 2 (see scan_viewer.js)
)


def _patch(pixels: np.ndarray, xy) -> np.ndarray:
    """Mean RGB of the 5 x 5 pixels around a canvas position."""
    x, y = round(xy[0]), round(xy[1])
    return pixels[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).mean(axis=0)


def _canvas(page) -> np.ndarray:
    """The canvas' views without the SUV colour bar along its bottom (drawn whatever the overlay's opacity)."""
    png = page.locator("#viewer-canvas").screenshot()
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return pixels[: int(pixels.shape[0] * 0.85)]


def _grey_tissue(pixels: np.ndarray) -> float:
    """Fraction of pixels that are neutral grey of soft tissue (40 HU in -160..240 HU: about 128 of 255)."""
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    return float(((spread <= 10) & (pixels[..., 1] > 95) & (pixels[..., 1] < 160)).mean())


def _warm(pixels: np.ndarray) -> float:
    """Fraction of pixels coloured by the hot SUV map (red clearly above blue)."""
    return float((pixels[..., 0] - pixels[..., 2] > 60).mean())


def test_the_viewer_fuses_the_suv_on_the_linked_ct(processed_with_ct, page, login):
    trial, info = processed_with_ct
    lesion = max(info.lesions, key=lambda les: les.suv)
    login(trial.radiologist)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None
        ),
    )
    page.goto(f"/imaging/scans/{trial.scan.pk}/")
    page.wait_for_function("document.getElementById('pet-viewer').dataset.ready")
    assert page.get_attribute("#pet-viewer", "data-ready") == "1", page.inner_text("#viewer-location")
    assert page.get_attribute("#pet-viewer", "data-fused") == "1"
    names = page.evaluate("document.getElementById('pet-viewer').niivue.volumes.map(v => v.name)")
    assert names[:2] == ["ct.nii.gz", "suv.nii.gz"], names  # CT is the base, the SUV the overlay
    fused = _canvas(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "fused-ct-pet.png"), full_page=True)
    assert _warm(fused) > 0.01, _warm(fused)  # the PET overlay is drawn in colour

    page.fill("#viewer-opacity", "0")  # PET off: the CT alone shows its soft-tissue grey
    page.dispatch_event("#viewer-opacity", "input")
    page.wait_for_timeout(200)
    ct_only = _canvas(page)
    assert _warm(ct_only) < _warm(fused) / 4, (_warm(ct_only), _warm(fused))
    assert _grey_tissue(ct_only) > 0.05, _grey_tissue(ct_only)
    page.screenshot(path=str(SHOTS / "ct-alone-opacity-0.png"), full_page=True)

    page.select_option("#viewer-ct-preset", "-1350,150")  # lung window: soft tissue turns near white
    page.wait_for_timeout(200)
    assert page.get_attribute("#pet-viewer", "data-ct-window") == "-1350,150"
    assert _grey_tissue(_canvas(page)) < _grey_tissue(ct_only) / 4
    page.select_option("#viewer-ct-preset", "-160,240")
    page.fill("#viewer-opacity", "0.6")
    page.dispatch_event("#viewer-opacity", "input")
    _check_suv_below_the_window_is_not_drawn(page, info, fused, ct_only)

    ras = [-lesion.centre_mm[0], -lesion.centre_mm[1], lesion.centre_mm[2]]
    for slice_type in (0, 1):  # axial then coronal through the lesion
        xy = page.evaluate(POSITION_JS, [ras, slice_type])
        assert xy is not None
        page.mouse.click(xy[0], xy[1])
        page.wait_for_timeout(150)
    filled = [float(page.input_value(f"#sphere-form input[name=centre_{a}]")) for a in "xyz"]
    assert np.allclose(filled, lesion.centre_mm, atol=2.5), (filled, lesion.centre_mm)
    status = page.inner_text("#viewer-location")
    assert " HU" in status, status
    shown_suv = float(status.rsplit("SUV", 1)[1].strip())
    assert shown_suv == pytest.approx(lesion.suv, rel=0.05), status  # the PET's SUV, not the CT's HU
    page.screenshot(path=str(SHOTS / "fused-click-on-lesion.png"), full_page=True)
    assert not errors, errors


def _check_suv_below_the_window_is_not_drawn(page, info, fused: np.ndarray, ct_only: np.ndarray) -> None:
    """A background point of the PET (SUV 0.5, soft tissue on the CT): CT grey as in the CT-only rendering at the
    fused view's default lower bound (SUV 1), lesions coloured; veiled by the SUV colour once the window starts at 0."""
    layer = page.evaluate(SUV_LAYER_JS)
    background_suv = 0.5  # quant.pet.phantom.PhantomSpec.background_suv
    assert (layer["type"], layer["cal_min"]) == (SUV_OVER_CT_TYPE, 1) and background_suv < layer["cal_min"]
    assert page.get_attribute("#pet-viewer", "data-suv-window").startswith("1,")
    centre = (
        info.origin + (np.array([40, 40, 12]) - 1) * np.array([4.0, 4.0, 4.0]) / 2
    )  # PET grid centre, LPS
    xy = page.evaluate(
        CANVAS_XY_JS, [-(centre[0] + 35.0), -(centre[1] + 30.0), 0.0]
    )  # away from every sphere
    assert xy is not None
    grey = _patch(ct_only, xy)
    assert grey.max() - grey.min() <= 6 and 95 < grey[1] < 160, grey  # soft tissue, 40 HU in -160..240
    assert np.abs(_patch(fused, xy) - grey).max() <= 3, (_patch(fused, xy), grey)  # the CT's own grey
    assert _grey_tissue(fused) > 0.8 * _grey_tissue(ct_only), (_grey_tissue(fused), _grey_tissue(ct_only))
    assert _warm(fused) > 0.01, _warm(fused)  # the lesions, liver and blood pool above 1 keep their colour

    page.fill("#viewer-min", "0")
    page.dispatch_event("#viewer-min", "change")
    page.wait_for_timeout(200)
    assert page.get_attribute("#pet-viewer", "data-suv-window").startswith("0,")
    assert page.inner_text("#viewer-location").startswith("SUV window 0–")
    from_zero = _canvas(page)
    page.screenshot(path=str(SHOTS / "fused-suv-from-0.png"), full_page=True)
    assert np.abs(_patch(from_zero, xy) - grey).max() > 30, (_patch(from_zero, xy), grey)  # veiled


@pytest.fixture
def processed_pet_alone(settings, tmp_path, coordinator, site_nl, radiologist):
    """A processed PET scan without CT, and the CT of the same PET/CT written beside it (not uploaded yet)."""
    trial, _info, ct = _processed_pet(settings, tmp_path, coordinator, site_nl, radiologist, with_ct=False)
    return trial, ct


def test_a_ct_uploaded_on_the_scan_page_is_linked_and_fused(processed_pet_alone, page, login):
    trial, ct = processed_pet_alone
    login(trial.radiologist)
    page.goto(f"/imaging/scans/{trial.scan.pk}/")
    page.wait_for_function("document.getElementById('pet-viewer').dataset.ready")
    assert page.get_attribute("#pet-viewer", "data-fused") == "0"
    page.set_input_files("#id_ct_files", [str(p) for p in ct.files])
    with page.expect_navigation():
        page.click("#ct-upload-form button[type=submit]")
    assert "CT linked" in page.inner_text("ul.messages")
    assert "uploaded separately" in page.inner_text("#linked-ct-summary")
    assert page.locator("#ct-upload-form").count() == 0
    page.wait_for_function("document.getElementById('pet-viewer').dataset.ready")
    assert page.get_attribute("#pet-viewer", "data-ready") == "1", page.inner_text("#viewer-location")
    assert page.get_attribute("#pet-viewer", "data-fused") == "1"
    names = page.evaluate("document.getElementById('pet-viewer').niivue.volumes.map(v => v.name)")
    assert names[:2] == ["ct.nii.gz", "suv.nii.gz"], names
    assert page.evaluate(SUV_LAYER_JS)["type"] == SUV_OVER_CT_TYPE
    pixels = _canvas(page)  # the fused view's default window starts at SUV 1
    assert _grey_tissue(pixels) > 0.05 and _warm(pixels) > 0.01, (_grey_tissue(pixels), _warm(pixels))
    page.screenshot(path=str(SHOTS / "ct-uploaded-separately-fused.png"), full_page=True)
