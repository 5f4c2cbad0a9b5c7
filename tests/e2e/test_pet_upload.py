"""A radiologist uploads a PET series in the browser (XHR with a progress bar), sees the processing state,
the coronal MIP and the SUV table, and adds a sphere VOI."""

from __future__ import annotations

import pytest

from imaging.models import SeriesUpload, UploadState
from tests.imaging.conftest import make_trial, series_maker, use_tmp_media

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pet_trial(settings, tmp_path, coordinator, site_nl, radiologist):
    use_tmp_media(settings, tmp_path)
    return make_trial(coordinator, site_nl, radiologist)


def test_a_radiologist_uploads_a_series_and_sees_results_and_the_mip(
    pet_trial,
    tmp_path,
    page,
    login,
    screenshot,
):
    info, directory = series_maker(tmp_path)()
    login(pet_trial.radiologist)
    page.goto("/imaging/worklist/")
    assert "Imaging worklist" in page.inner_text("h1")
    screenshot("pet-worklist")
    page.goto(f"/imaging/scans/{pet_trial.scan.pk}/")
    page.click("text=Upload PET series")
    page.set_input_files("#id_files", [str(p) for p in sorted(directory.iterdir())])
    page.click("button:has-text('Upload')")
    page.wait_for_url(f"**/imaging/scans/{pet_trial.scan.pk}/")
    page.wait_for_selector("svg.mip image")
    assert "Results ready" in page.inner_text("#upload-state")
    mip_png = page.request.get(page.get_attribute("svg.mip image", "href"))
    assert mip_png.ok and mip_png.body().startswith(b"\x89PNG")  # the picture under the overlay loads
    lesion = info.lesions[0]
    page.select_option("#sphere-form select[name=kind]", "lesion")
    page.fill("#sphere-form input[name=name]", "T1")
    page.fill("#sphere-form input[name=centre_x]", str(lesion.centre_mm[0]))
    page.fill("#sphere-form input[name=centre_y]", str(lesion.centre_mm[1]))
    page.fill("#sphere-form input[name=centre_z]", str(lesion.centre_mm[2]))
    page.fill("#sphere-form input[name=radius_mm]", str(lesion.radius_mm))
    page.click("#sphere-form button:has-text('Add sphere')")
    page.wait_for_selector("table.suv td:has-text('T1')")
    row = page.inner_text("table.suv tr:has(td:has-text('T1'))")
    assert "8.000" in row  # SUVmean of the 8.0 sphere
    screenshot("pet-scan-results")
    page.click("text=distribution")
    page.wait_for_selector("table.distribution")
    assert "T1" in page.inner_text("table.distribution")
    page.wait_for_function("document.querySelector('img.plot').complete")
    assert page.eval_on_selector("img.plot", "img => img.naturalWidth") > 0
    screenshot("pet-distribution")
    upload = SeriesUpload.objects.get()
    assert upload.state == UploadState.DONE


def test_a_hostile_upload_shows_the_reason_in_the_browser(pet_trial, page, login, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image " * 40)
    login(pet_trial.radiologist)
    page.goto(f"/imaging/scans/{pet_trial.scan.pk}/upload/")
    page.set_input_files("#id_files", [str(bad)])
    page.click("button:has-text('Upload')")
    page.wait_for_selector("#errors:not([hidden])")
    assert "notes.txt: not a DICOM file" in page.inner_text("#errors")
    assert SeriesUpload.objects.count() == 0
