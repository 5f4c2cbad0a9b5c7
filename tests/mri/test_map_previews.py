"""Every computed map of every model is previewed on the MRI scan page (its PNG route answers), and the
imaging scan page of an MRI scan links to the MRI page."""

from __future__ import annotations

import os

import numpy as np
import pytest
from django.urls import reverse

from mri import services
from mri.models import JobState, MrMapJob, MrSeriesUpload
from quant.mri import phantom_dicom as ph
from tests.factories import ctx_for

SHAPE = (4, 3, 2)
TIMES = np.arange(0.0, 120.1, 6.0)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("mr_previews")
    params = {"ktrans_per_min": np.full(SHAPE, 0.2), "ve": np.full(SHAPE, 0.3), "vp": np.full(SHAPE, 0.05)}
    out = {"dce": str(root / "dce"), "dwi": str(root / "dwi")}
    ph.write_series(
        ph.dce_spec("extended_tofts", params, t10_s=np.full(SHAPE, 1.3), times_s=TIMES, delay_s=12.0),
        out["dce"],
    )
    b = np.array([0, 10, 20, 50, 100, 200, 400, 600, 800, 1000.0])
    ph.write_series(
        ph.ivim_spec(
            np.full(SHAPE, 900.0), np.full(SHAPE, 0.1), np.full(SHAPE, 1e-3), np.full(SHAPE, 0.02), b
        ),
        out["dwi"],
    )
    return out


def _ingest(radiologist, scan, folder: str, kind: str, tmp_path) -> MrSeriesUpload:
    files = [(os.path.join(folder, n), n) for n in sorted(os.listdir(folder))]
    work = tmp_path / f"work_{kind}"
    work.mkdir()
    from pathlib import Path

    return services.series_upload_ingest(
        ctx=ctx_for(radiologist), scan=scan, kind=kind, files=[(Path(p), n) for p, n in files], work_dir=work
    )


@pytest.mark.django_db
def test_every_map_of_every_model_is_previewed(
    tmp_media, client_for, radiologist, participant, generated, tmp_path
) -> None:
    scan = participant.scans.get(visit__code="BL_MRI")
    dce = _ingest(radiologist, scan, generated["dce"], "dce", tmp_path)
    dwi = _ingest(radiologist, scan, generated["dwi"], "dwi", tmp_path)
    for series, model in ((dce, "tofts"), (dce, "extended_tofts"), (dce, "2cxm"), (dwi, "ivim")):
        job = MrMapJob.objects.create(
            participant=participant, scan=scan, series=series, model=model, options={"t10_ms": 1300}
        )
        services.map_job_run(job.pk)
        job.refresh_from_db()
        assert job.state == JobState.DONE, job.message
    client = client_for(radiologist)
    page = client.get(reverse("mri:scan", kwargs={"scan_pk": scan.pk})).content.decode()
    for job in MrMapJob.objects.all():
        params = {m.parameter for m in job.maps.all()}
        if job.model != "ivim":
            assert "ktrans_per_min" in params, (job.model, params)
        for m in job.maps.all():
            url = reverse("mri:map_preview", kwargs={"map_pk": m.pk})
            assert f'src="{url}"' in page, (job.model, m.parameter)
            png = client.get(url)
            assert png.status_code == 200, (job.model, m.parameter)
            assert b"".join(png.streaming_content)[:4] == b"\x89PNG"

    # While another job runs, only that job's article polls: the finished jobs' previews are not swapped out
    # every 2 s (a page polled as a whole showed maps, Ktrans first, missing while their images reloaded).
    queued = MrMapJob.objects.create(
        participant=participant, scan=scan, series=dce, model="tofts", options={"t10_ms": 1300}
    )
    page = client.get(reverse("mri:scan", kwargs={"scan_pk": scan.pk})).content.decode()
    fragment = reverse("mri:job_fragment", kwargs={"job_pk": queued.pk})
    assert page.count("hx-get=") == 1 and f'hx-get="{fragment}"' in page
    services.map_job_run(queued.pk)
    done = client.get(fragment).content.decode()
    assert (
        "hx-get=" not in done and done.count("<img ") == queued.maps.count() and "Ktrans (/min) map" in done
    )


@pytest.mark.django_db
def test_imaging_scan_page_of_an_mri_scan_links_to_the_mri_page(client_for, radiologist, participant) -> None:
    client = client_for(radiologist)
    mri = participant.scans.get(visit__code="BL_MRI")
    pet = participant.scans.get(visit__code="BL_PET1")
    mri_url = reverse("mri:scan", kwargs={"scan_pk": mri.pk})
    page = client.get(reverse("imaging:scan_detail", kwargs={"scan_pk": mri.pk})).content.decode()
    assert f'href="{mri_url}"' in page and "Upload PET series" not in page and "Coronal MIP" not in page
    pet_page = client.get(reverse("imaging:scan_detail", kwargs={"scan_pk": pet.pk})).content.decode()
    assert "/mri/scans/" not in pet_page and "Upload PET series" in pet_page and "Coronal MIP" in pet_page
    # The PET upload URL of an MRI scan leads to the MRI page instead of a PET form.
    resp = client.get(reverse("imaging:scan_upload", kwargs={"scan_pk": mri.pk}))
    assert resp.status_code == 302 and resp["Location"] == mri_url
    participant_page = client.get(
        reverse("participant_detail", kwargs={"participant_pk": participant.pk})
    ).content.decode()
    assert participant_page.count(f'href="{mri_url}"') >= 2  # MRI section and imaging section
