"""The CT of a PET/CT uploaded with the PET series: which CT series is linked, its validation and
de-identification, and its storing beside the PET series.

Rule: a CT series of the upload is linked when its FrameOfReferenceUID equals the PET series' (a PET/CT scanner
writes both in one frame of reference, so positions in mm register without resampling by a transform). A CT of
another frame of reference (even of the same study), another modality, a second CT of the same frame (the one with
the most slices is linked) or a CT that does not validate is not linked; the upload's intake report lists each
with its reason and the PET is stored as before. Validation is quant.dicom.series.read_series (decodable, one
consistent grid, Modality CT, RescaleSlope/Intercept to HU) and at least two slices. De-identification uses the
PET's own functions (imaging.pet_adapters) with the participant's same UID key and profile, so the remapped
FrameOfReferenceUID and StudyInstanceUID equal the stored PET's; the de-identified files are read again and must
give the same HU voxels, geometry and remapped frame of reference before anything is stored.

Separate upload (imaging.services.ct_upload): the CT of a PET/CT may come after its PET series is stored, through
the scan page's "Add the CT of this PET/CT" form or POST /api/v1/pet-scans/<id>/ct/ (same intake: zip, CD layouts,
loose files, size limits). The stored PET is de-identified, so the received CT's FrameOfReferenceUID is compared
after remapping it with the participant's UID key (`remapped_uid`: the HMAC remapping of quant.dicom.deid, as
pet_adapters applies it; deterministic, so it equals the stored PET's frame exactly when the received frames are
equal). It must be Modality CT, on that frame, and validate as above; it is linked to the scan's newest live PET
upload with a reason saying it was uploaded separately, under the write gate (a lock on the casebook, the scan or
the PET upload refuses it). A scan whose PET upload already has a live linked CT refuses another (the existing link
is named; replacing it means voiding it with a reason first); the same CT again (same received files) answers with
the existing link and stores nothing. Concurrent uploads are serialised on the scan's row: exactly one link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from imaging import pet_adapters
from imaging.models import CtInstance, LinkedCt, Scan, SeriesUpload
from imaging.services.common import _sha256, geometry_json
from quant.dicom import deid
from quant.dicom.series import Series, read_series
from quant.errors import QuantError, SeriesError
from trial.audit import AuditContext, audited_create

LINK_REASON = "same FrameOfReferenceUID as the PET series (uploaded with it)"
SEPARATE_LINK_REASON = "same FrameOfReferenceUID as the PET series (CT uploaded separately)"
GEOMETRY_ATOL_MM = 1e-6


@dataclass
class PreparedCt:
    """A validated, de-identified CT ready to store (files in z order)."""

    received_uid: str
    paths: list[Path]
    source_hashes: list[str]
    series: Series
    profile: dict[str, Any]
    study_instance_uid: str


def remapped_uid(uid: str, *, study_id: str, key: str) -> str:
    """The UID a received UID becomes in the stored files (pet_adapters.deidentify_files' remapping)."""
    return deid.remap_uid(uid, study_id, key.encode())


def _volume_digest(series: Series) -> str:
    return hashlib.sha256(np.ascontiguousarray(series.volume, dtype=np.float32).tobytes()).hexdigest()


def _same_grid(a: Series, b: Series) -> bool:
    return a.volume.shape == b.volume.shape and bool(
        np.allclose(a.geometry.affine, b.geometry.affine, atol=GEOMETRY_ATOL_MM)
    )


def received_hashes(items: list[tuple[Path, str, Any]]) -> dict[str, str]:
    """SHA-256 of each received file, by path."""
    return {str(p): _sha256(p) for p, _n, _ds in items}


def validate_and_deidentify(
    items: list[tuple[Path, str, Any]],
    *,
    pet_frame: str,
    study_id: str,
    key: str,
    work_dir: Path,
    by_path: dict[str, str] | None = None,
) -> PreparedCt:
    """Read the CT (validation), de-identify it with the PET's keys and check the stored copy; SeriesError.
    `by_path`: the received files' hashes when the caller has them already (`received_hashes`)."""
    paths = [p for p, _n, _ds in items]
    received = read_series([str(p) for p in paths], "CT")
    if received.volume.shape[0] < 2:
        raise SeriesError("a single CT image (e.g. a localizer) is not a volume")
    digest = _volume_digest(received)
    by_path = by_path or received_hashes(items)
    ordered_sources = [by_path[f] for f in received.files]
    outcome = pet_adapters.deidentify_files(
        [Path(f) for f in received.files], work_dir, study_id=study_id, key=key
    )
    stored = read_series([str(p) for p in outcome.paths], "CT")
    if _volume_digest(stored) != digest or not _same_grid(received, stored):
        raise SeriesError("de-identification changed the CT's voxels or grid")
    if stored.geometry.frame_of_reference_uid != pet_frame:
        raise SeriesError("after de-identification the CT's frame of reference differs from the PET's")
    order = {str(p): k for k, p in enumerate(outcome.paths)}
    in_z_order = [Path(f) for f in stored.files]
    sources = [ordered_sources[order[str(p)]] for p in in_z_order]
    del received
    return PreparedCt(
        received_uid=str(items[0][2].get("SeriesInstanceUID", "")),
        paths=in_z_order,
        source_hashes=sources,
        series=stored,
        profile=outcome.profile,
        study_instance_uid=_stored_study_uid(in_z_order[0]),
    )


def _stored_study_uid(path: Path) -> str:
    return str(pydicom.dcmread(str(path), stop_before_pixels=True).get("StudyInstanceUID", ""))


def prepare_ct(
    groups: dict[str, list],
    chosen: list,
    *,
    pet_frame_after: str,
    study_id: str,
    key: str,
    work_dir: Path,
) -> tuple[PreparedCt | None, dict[str, str]]:
    """The CT to link (validated and de-identified; None if there is none) and, for every other series of the
    upload, why it is not used; see the module docstring for the rule."""
    pet = chosen[0][2]
    pet_uid = str(pet.get("SeriesInstanceUID", ""))
    pet_frame = str(pet.get("FrameOfReferenceUID", ""))
    reasons: dict[str, str] = {}
    candidates = []
    for uid, items in groups.items():
        if uid == pet_uid:
            continue
        ds = items[0][2]
        modality = str(ds.get("Modality", "")) or "missing"
        if modality != "CT":
            reasons[uid] = f"modality {modality}: only the CT of the PET/CT is linked"
        elif not pet_frame or str(ds.get("FrameOfReferenceUID", "")) != pet_frame:
            reasons[uid] = (
                "another frame of reference than the PET series: its positions do not register with the PET"
            )
        else:
            candidates.append((uid, items))
    candidates.sort(key=lambda c: -len(c[1]))
    linked: PreparedCt | None = None
    for k, (uid, items) in enumerate(candidates):
        if linked is not None:
            reasons[uid] = "another CT of the PET's frame of reference is linked (the one with most slices)"
            continue
        try:
            linked = validate_and_deidentify(
                items, pet_frame=pet_frame_after, study_id=study_id, key=key, work_dir=work_dir / f"ct-{k}"
            )
        except QuantError as exc:
            reasons[uid] = f"the CT was not linked: {exc}"
    return linked, reasons


def source_fingerprint(source_hashes: list[str]) -> str:
    """SHA-256 over the sorted SHA-256 of every received CT file (what identifies the same CT sent again)."""
    return hashlib.sha256("".join(sorted(source_hashes)).encode()).hexdigest()


def ct_store(
    *,
    ctx: AuditContext,
    scan: Scan,
    upload: SeriesUpload,
    ct: PreparedCt,
    saved: list[str],
    storage_dir: str = "",
    link_reason: str = LINK_REASON,
    reason: str = "",
) -> LinkedCt:
    """Store the de-identified CT files under the PET upload's folder and link them (audited create); the
    caller's transaction and clean-up of `saved` cover a failure."""
    storage_dir = storage_dir or f"{upload.storage_dir}/ct"
    stored = []
    for z, path in enumerate(ct.paths):
        name = default_storage.save(f"{storage_dir}/{z:05d}.dcm", ContentFile(path.read_bytes()))
        saved.append(name)
        stored.append((name, _sha256(path), path.stat().st_size))
    geometry = ct.series.geometry
    linked = audited_create(
        LinkedCt(
            participant=scan.participant,
            scan=scan,
            upload=upload,
            storage_dir=storage_dir,
            instance_count=len(stored),
            total_bytes=sum(s[2] for s in stored),
            series_instance_uid=ct.series.series_instance_uid,
            study_instance_uid=ct.study_instance_uid,
            frame_of_reference_uid=geometry.frame_of_reference_uid,
            series_description=ct.series.series_description[:128],
            source_fingerprint=source_fingerprint(ct.source_hashes),
            geometry=geometry_json(geometry),
            link_reason=link_reason,
            deid_profile=ct.profile,
        ),
        ctx=ctx,
        reason=reason or f"CT linked to upload #{upload.pk}",
    )
    CtInstance.objects.bulk_create(
        [
            CtInstance(
                ct=linked,
                sop_instance_uid=uid,
                path=name,
                sha256=sha,
                source_sha256=src,
                size=size,
                z_index=z,
            )
            for z, ((name, sha, size), src, uid) in enumerate(
                zip(stored, ct.source_hashes, geometry.sop_instance_uids, strict=True)
            )
        ]
    )
    return linked


def ct_report(ct: PreparedCt) -> dict[str, Any]:
    """The intake report's entry of the linked CT."""
    return {
        "modality": "CT",
        "description": ct.series.series_description,
        "files": len(ct.paths),
        "reason": LINK_REASON,
    }
