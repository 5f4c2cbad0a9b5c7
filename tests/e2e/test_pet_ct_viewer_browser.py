"""The PET viewer with a linked CT (niivue in headless Chromium): the CT is the grey base volume, the SUV a colour
overlay with an opacity control; the viewer reports itself fused, the CT window control changes the grey, and a
click on the lesion shows the SUV there (not the CT's HU) and fills the sphere VOI form."""

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


@pytest.fixture
def processed_with_ct(settings, tmp_path, coordinator, site_nl, radiologist):
    use_tmp_media(settings, tmp_path)
    trial = make_trial(coordinator, site_nl, radiologist)
    info, directory = series_maker(tmp_path)()
    ct = write_ct(
        tmp_path / "ct", pet_origin=info.origin, frame_uid=info.uids["frame"], study_uid=info.uids["study"]
    )
    client = Client()
    client.force_login(radiologist)
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in [*sorted(directory.iterdir()), *ct.files]]
    response = client.post(
        reverse("imaging:scan_upload", kwargs={"scan_pk": trial.scan.pk}), {"files": files}
    )
    assert response.status_code == 302
    upload = SeriesUpload.objects.get()
    assert upload.state == UploadState.DONE, upload.state_message  # eager worker ran on commit
    assert LinkedCt.objects.filter(upload=upload).count() == 1
    return trial, info


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
