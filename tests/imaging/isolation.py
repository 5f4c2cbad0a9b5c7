"""Site-isolation walk builders for the PET pages (see tests/trial/test_site_isolation.py)."""

from __future__ import annotations

from imaging.models import Finding, Modality, SeriesUpload, Severity, UploadState
from imaging.services import scans_ensure_for_participant


def _pet_scan(participant):
    scans_ensure_for_participant(participant)
    return participant.scans.filter(modality=Modality.PET).order_by("visit__planned_date").first()


def _finding(participant, user) -> int:
    scan = _pet_scan(participant)
    finding = Finding.objects.create(
        participant=participant, scan=scan, code="TEST", severity=Severity.WARNING, message="isolation walk"
    )
    return finding.pk


def _blocked_upload(participant, user) -> int:
    upload = SeriesUpload.objects.create(
        participant=participant,
        scan=_pet_scan(participant),
        storage_dir="pet/isolation",
        instance_count=0,
        total_bytes=0,
        geometry={},
        suv_before_deid={},
        suv_after_deid={},
        suv_parameters={},
        state=UploadState.BLOCKED,
    )
    return upload.pk


KWARG_BUILDERS = {
    "scan_pk": lambda participant, user: _pet_scan(participant).pk,
    "finding_pk": _finding,
    "upload_pk": _blocked_upload,
}
READ_ROLE_POSTS_ALLOWED: set[str] = set()
