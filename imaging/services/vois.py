"""VOIs of a PET upload: creation from a sphere, NIfTI, RTSTRUCT or SEG, masks and stored metrics."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pydicom
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from imaging import pet_adapters
from imaging.models import Scan, SeriesUpload, UploadState, Voi, VoiKind, VoiResult, VoiSource
from imaging.services.common import _sha256, _user, enqueue_after_commit, geometry_from_json, uid_key
from quant.dicom import deid_table
from quant.dicom.geometry import Geometry
from quant.pet.suv import SuvResult
from quant.pet.voi import VoiError, nifti_voi, rtstruct_voi, seg_vois, sphere_voi, voi_extent_mm, voi_metrics
from trial import access
from trial.audit import AuditContext, audited_create, write_entry
from trial.audit import snapshot as audit_snapshot
from trial.models import AuditAction, AuditSource
from trial.write_gate import check_write


def _live_upload(scan: Scan) -> SeriesUpload:
    upload = (
        scan.uploads.filter(voided=False)
        .exclude(state=UploadState.BLOCKED)
        .order_by("-created_at", "-id")
        .first()
    )
    if upload is None:
        raise ValidationError({"scan": "Upload a usable PET series before adding VOIs."})
    return upload


def _check_lesion(scan: Scan, kind: str, organ: str, lesion) -> None:
    if lesion is not None and lesion.participant_id != scan.participant_id:
        raise ValidationError({"lesion": "The lesion belongs to another participant."})
    if kind == VoiKind.ORGAN and not organ:
        raise ValidationError({"organ": "Choose the organ of an organ VOI."})
    if kind == VoiKind.LESION and organ:
        raise ValidationError({"organ": "A tumour lesion VOI has no reference organ."})


def _create_voi(
    ctx, scan, upload, name, kind, organ, source, parameters, voxels, lesion, mask_path="", mask_sha=""
):
    if upload.vois.filter(name=name, voided=False).exists():
        raise ValidationError({"name": f"A VOI named {name!r} already exists on this scan."})
    voi = audited_create(
        Voi(
            participant=scan.participant,
            scan=scan,
            upload=upload,
            name=name,
            kind=kind,
            organ=organ or "",
            source=source,
            parameters=parameters,
            voxel_count=voxels,
            lesion=lesion,
            mask_path=mask_path,
            mask_sha256=mask_sha,
            created_by=_user(ctx),
        ),
        ctx=ctx,
    )
    enqueue_after_commit(upload.pk)
    return voi


@transaction.atomic
def voi_create_sphere(
    *,
    ctx: AuditContext,
    scan: Scan,
    name: str,
    kind: str,
    organ: str = "",
    centre_mm: tuple[float, float, float],
    radius_mm: float,
    lesion=None,
) -> Voi:
    """A sphere holding the voxels whose centres lie within its radius of the centre (patient mm, LPS)."""
    access.require(ctx.user, "imaging", scan.participant.site_id)
    upload = _live_upload(scan)
    _check_lesion(scan, kind, organ, lesion)
    if not (0 < radius_mm <= 150):
        raise ValidationError({"radius_mm": "The radius must be between 0 and 150 mm."})
    try:
        voi = sphere_voi(name, geometry_from_json(upload.geometry), centre_mm, radius_mm)
    except VoiError as exc:
        raise ValidationError({"centre_x": str(exc)}) from exc
    params = {
        "centre_mm": [float(v) for v in centre_mm],
        "radius_mm": float(radius_mm),
        "frame_of_reference_uid": upload.frame_of_reference_uid,
        "method": voi.method,
    }
    return _create_voi(
        ctx, scan, upload, name, kind, organ, VoiSource.SPHERE, params, voi.voxel_count, lesion
    )


def _mask_from_file(source: str, geometry: Geometry, path: Path, name: str, roi: str) -> list:
    if source == VoiSource.NIFTI:
        return [nifti_voi(name, geometry, str(path))]
    if source == VoiSource.RTSTRUCT:
        if not roi:
            raise VoiError("name the RTSTRUCT ROI to use")
        return [rtstruct_voi(name, geometry, str(path), roi)]
    if source == VoiSource.SEG:
        return seg_vois(geometry, str(path), roi or None)
    raise VoiError(f"unknown VOI source {source}")


def _deid_voi_file(source: str, path: Path, work_dir: Path, scan: Scan) -> Path:
    """RTSTRUCT/SEG carry patient identity and original UIDs: de-identify with the same UID mapping."""
    if source == VoiSource.NIFTI:
        return path
    with open(path, "rb") as handle:
        head = handle.read(132)
    if len(head) < 132 or head[128:132] != b"DICM":
        raise VoiError(f"the {source.upper()} file is not DICOM")
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as exc:  # pydicom raises many types on damaged files
        raise VoiError(f"the {source.upper()} file is unreadable") from exc
    expected = "RTSTRUCT" if source == VoiSource.RTSTRUCT else "SEG"
    if str(ds.get("Modality", "")) != expected:
        raise VoiError(f"the file's Modality is {ds.get('Modality', 'missing')}, not {expected}")
    ds = pet_adapters.deidentify_dataset(
        ds, study_id=scan.participant.study_id, key=uid_key(scan.participant)
    )
    out = work_dir / f"voi-{uuid.uuid4().hex}.dcm"
    ds.save_as(str(out), enforce_file_format=True)
    return out


@transaction.atomic
def voi_create_from_file(
    *,
    ctx: AuditContext,
    scan: Scan,
    source: str,
    path: Path,
    work_dir: Path,
    name: str,
    kind: str,
    organ: str = "",
    roi: str = "",
    lesion=None,
) -> list[Voi]:
    """NIfTI (aligned by affine), RTSTRUCT (rasterised) or SEG masks; refused with the reason if off-grid."""
    access.require(ctx.user, "imaging", scan.participant.site_id)
    upload = _live_upload(scan)
    _check_lesion(scan, kind, organ, lesion)
    geometry = geometry_from_json(upload.geometry)
    if source == VoiSource.RTSTRUCT and roi:
        roi = deid_table.clean_text(roi)  # ROI names are cleaned (Clean Descriptors) in the stored file
    try:
        clean = _deid_voi_file(source, path, work_dir, scan)
        masks = _mask_from_file(source, geometry, clean, name, roi)
    except VoiError as exc:
        raise ValidationError({"mask_file": str(exc)}) from exc
    suffix = ".nii.gz" if source == VoiSource.NIFTI else ".dcm"
    stored = default_storage.save(
        f"{upload.storage_dir}/vois/{uuid.uuid4().hex}{suffix}", ContentFile(clean.read_bytes())
    )
    sha = _sha256(clean)
    vois = []
    try:
        for mask in masks:
            voi_name = name if len(masks) == 1 else f"{name} {mask.name}"
            params = {
                "file": Path(stored).name,
                "roi": roi if source == VoiSource.RTSTRUCT else "",
                "segment": mask.name if source == VoiSource.SEG else "",
                "frame_of_reference_uid": upload.frame_of_reference_uid,
                "method": mask.method,
            }
            vois.append(
                _create_voi(
                    ctx,
                    scan,
                    upload,
                    voi_name,
                    kind,
                    organ,
                    source,
                    params,
                    mask.voxel_count,
                    lesion,
                    stored,
                    sha,
                )
            )
    except BaseException:
        default_storage.delete(stored)
        raise
    return vois


def voi_mask(voi: Voi, geometry: Geometry):
    """Rebuild a VOI's mask on the PET grid from its stored definition."""
    if voi.source == VoiSource.SPHERE:
        return sphere_voi(voi.name, geometry, voi.parameters["centre_mm"], voi.parameters["radius_mm"])
    path = Path(default_storage.path(voi.mask_path))
    if voi.source == VoiSource.NIFTI:
        return nifti_voi(voi.name, geometry, str(path))
    if voi.source == VoiSource.RTSTRUCT:
        return rtstruct_voi(voi.name, geometry, str(path), voi.parameters["roi"])
    return seg_vois(geometry, str(path), voi.parameters["segment"])[0]


def _voi_result_values(
    voi: Voi, suv: np.ndarray, geometry: Geometry, result: SuvResult, base: dict
) -> tuple[dict, dict]:
    """(metrics, provenance) of one VOI on the SUV volume: computed only, nothing written."""
    mask = voi_mask(voi, geometry)
    metrics = voi_metrics(suv, mask, tuple(geometry.spacing)).to_dict()
    weight = result.weight_kg
    metrics["pct_id_per_kg_mean"] = 100.0 * metrics["suv_mean"] / weight
    metrics["pct_id_per_kg_max"] = 100.0 * metrics["suv_max"] / weight
    provenance = {
        **base,
        "voi": {
            "source": voi.source,
            "parameters": voi.parameters,
            "mask_sha256": voi.mask_sha256,
            **voi_extent_mm(mask, geometry),  # where it lies: pages draw it without rebuilding the mask
        },
        "pct_id_formula": "%ID/kg = 100 * SUVbw / W[kg]",
    }
    return metrics, provenance


def _save_voi_result(voi: Voi, metrics: dict, provenance: dict) -> None:
    """Store (update in place) and audit one VOI's result; the VOI passes the write gate first, so a frozen or
    locked VOI, casebook, site or study refuses it with RecordLocked."""
    check_write(voi, action=AuditAction.UPDATE, changes={"result": [None, "recomputed"]})
    with transaction.atomic():  # the result and its audit entry together
        before = VoiResult.objects.filter(voi=voi).first()
        old = audit_snapshot(before) if before is not None else {}
        row, created = VoiResult.objects.update_or_create(
            voi=voi,
            defaults={
                "participant_id": voi.participant_id,
                "suv_max": metrics["suv_max"],
                "suv_mean": metrics["suv_mean"],
                "suv_peak": metrics["suv_peak"],
                "pct_id_per_kg_mean": metrics["pct_id_per_kg_mean"],
                "pct_id_per_kg_max": metrics["pct_id_per_kg_max"],
                "volume_ml": metrics["volume_ml"],
                "metrics": metrics,
                "provenance": provenance,
                "computed_at": timezone.now(),
            },
        )
        # Audited when written, so results reach the sponsor's change feed (and honour changed_since).
        changes = {k: [old.get(k), v] for k, v in audit_snapshot(row).items() if old.get(k) != v}
        write_entry(
            row,
            ctx=AuditContext.system(source=AuditSource.WORKER),
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            changes=changes,
            reason="" if created else "Worker: VOI metrics recomputed",
        )
