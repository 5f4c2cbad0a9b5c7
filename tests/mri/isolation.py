"""Site-isolation walk builders for the MRI pages (see tests/trial/test_site_isolation.py).

Rows are created directly: a real job needs an MR upload and a voxel-wise fit (tests/mri/test_upload_maps.py).
"""

from __future__ import annotations

from imaging.models import Modality
from imaging.services import scans_ensure_for_participant
from mri.models import JobState, MapModel, MrMap, MrMapJob, MrSeriesUpload, SeriesKind


def _job(participant, user) -> MrMapJob:
    scans_ensure_for_participant(participant)
    scan = participant.scans.filter(modality=Modality.MRI).order_by("visit__planned_date").first()
    series = MrSeriesUpload.objects.create(
        participant=participant,
        scan=scan,
        kind=SeriesKind.DCE,
        uploaded_by=user,
        storage_dir="mri/isolation",
        instance_count=0,
        total_bytes=0,
        series_instance_uid="2.25.1",
        source_fingerprint="0" * 64,
        acquisition={},
    )
    return MrMapJob.objects.create(
        participant=participant,
        scan=scan,
        series=series,
        model=MapModel.TOFTS,
        options={"t10_ms": 1400, "aif": "parker"},
        state=JobState.DONE,
        progress=1.0,
    )


def _mri_scan(participant, user) -> dict:
    """The MRI pages take an MRI scan (the imaging walk's scan_pk is a PET scan, a 404 here for everyone)."""
    scans_ensure_for_participant(participant)
    scan = participant.scans.filter(modality=Modality.MRI).order_by("visit__planned_date").first()
    return {"scan_pk": scan.pk}


def _map(participant, user) -> int:
    job = _job(participant, user)
    m = MrMap.objects.create(
        participant=participant,
        job=job,
        parameter="ktrans",
        label="Ktrans",
        nifti_path="mri/isolation/ktrans.nii",
        parametric_map_path="mri/isolation/ktrans.dcm",
        preview_path="mri/isolation/ktrans.png",
    )
    return m.pk


KWARG_BUILDERS = {
    "job_pk": lambda participant, user: _job(participant, user).pk,
    "map_pk": _map,
}

# map_pk and fmt must name a map and one of its files; the scan pages need an MRI scan.
PATTERN_BUILDERS = {
    "mri:scan": _mri_scan,
    "mri:jobs": _mri_scan,
    "mri:upload": _mri_scan,
    "mri:job_create": _mri_scan,
    "mri:map_file": lambda participant, user: {"map_pk": _map(participant, user), "fmt": "nii"},
}

READ_ROLE_POSTS_ALLOWED: set[str] = set()
