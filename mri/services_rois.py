"""ROIs on a job's maps (sphere, NIfTI mask, DICOM SEG, RTSTRUCT): each map's median and spread inside, stored
(audited).

``roi_masks`` turns one ROI definition into boolean masks (x, y, z) on the job's series grid; ``roi_add`` stores
them as MrRoi rows with every map's statistics (lesions.services.mri_maps links such a ROI to a registry lesion).
An RTSTRUCT (and a SEG whose frames are not on the series grid) is placed with the PET code that resamples
masks from another grid of the same frame of reference (quant.pet.voi: contours rasterised with shape-based
interpolation, SEG frames placed by position and sampled nearest-neighbour), after de-identifying the file with
the participant's UID mapping so that its frame of reference matches the stored (de-identified) series.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from imaging.pet_adapters import deidentify_dataset
from imaging.services.common import uid_key
from mri.models import JobState, MrMapJob, MrRoi
from quant.dicom.deid import dataset_bytes
from quant.dicom.geometry import Geometry
from quant.errors import QuantError
from quant.mri.map_outputs import map_stats
from quant.mri.rois import nifti_mask, parse_sphere, seg_masks, sphere_mask
from quant.pet.voi import rtstruct_roi_names, rtstruct_voi, seg_vois
from trial import access
from trial.audit import AuditContext, audited_create

CAPABILITY = "imaging"
Masks = dict[str, tuple[np.ndarray, str, dict]]


def file_kind(content: bytes) -> str:
    """'nifti', 'seg' or 'rtstruct' from an uploaded ROI file's bytes (DICOM by its preamble and Modality)."""
    if len(content) < 132 or content[128:132] != b"DICM":
        return "nifti"
    try:
        modality = str(pydicom.dcmread(io.BytesIO(content), stop_before_pixels=True).get("Modality", ""))
    except Exception:  # pydicom raises many types for a damaged file; the SEG reader refuses it in one line
        return "seg"
    return "rtstruct" if modality == "RTSTRUCT" else "seg"


def _grid(job: MrMapJob) -> tuple[tuple[int, int, int], np.ndarray]:
    acq = job.series.acquisition
    return tuple(int(v) for v in acq["shape"][:3]), np.array(acq["affine"], dtype=float)


def voxel_volume_ml(job: MrMapJob) -> float:
    """Volume of one voxel of the job's series grid (mL)."""
    _shape, affine = _grid(job)
    return float(abs(np.linalg.det(affine[:3, :3]))) / 1000.0


def _map_values(job: MrMapJob) -> dict[str, np.ndarray]:
    out = {}
    for m in job.maps.filter(voided=False):
        with default_storage.open(m.nifti_path, "rb") as handle:
            out[m.parameter] = np.asarray(nib.Nifti1Image.from_bytes(handle.read()).dataobj, dtype=float)
    return out


def _frame_of_reference(job: MrMapJob) -> str:
    """FrameOfReferenceUID of the stored (de-identified) series."""
    name = sorted(default_storage.listdir(job.series.storage_dir)[1])[0]
    with default_storage.open(f"{job.series.storage_dir}/{name}", "rb") as handle:
        ds = pydicom.dcmread(handle, stop_before_pixels=True)
    return str(ds.get("FrameOfReferenceUID", ""))


def _geometry(job: MrMapJob) -> Geometry:
    """The series grid as the PET VOI code's Geometry (affine: index (x, y, z) -> LPS mm; shape z, y, x)."""
    shape, affine = _grid(job)
    spacing = tuple(float(np.linalg.norm(affine[:3, i])) for i in range(3))
    normal = affine[:3, 2] / spacing[2]
    return Geometry(
        origin=affine[:3, 3].copy(),
        row_direction=affine[:3, 0] / spacing[0],
        column_direction=affine[:3, 1] / spacing[1],
        normal=normal,
        spacing=(spacing[0], spacing[1], spacing[2]),
        shape=(shape[2], shape[1], shape[0]),
        affine=affine,
        frame_of_reference_uid=_frame_of_reference(job),
        sop_instance_uids=(),  # SEG frames are placed by position, never matched by instance
        slice_positions=tuple(
            float((affine @ np.array([0, 0, k, 1.0]))[:3] @ normal) for k in range(shape[2])
        ),
    )


def _deidentified(job: MrMapJob, content: bytes, expected: str, tmp: Path) -> Path:
    """The RTSTRUCT/SEG de-identified with the participant's UID mapping (as the stored series was)."""
    path = tmp / "raw.dcm"
    path.write_bytes(content)
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as exc:  # pydicom raises many types for a damaged file
        raise ValidationError({"__all__": f"the {expected} file is not readable DICOM"}) from exc
    if str(ds.get("Modality", "")) != expected:
        raise ValidationError(
            {"__all__": f"the file's Modality is {ds.get('Modality', 'missing')}, not {expected}"}
        )
    clean = deidentify_dataset(ds, study_id=job.participant.study_id, key=uid_key(job.participant))
    out = tmp / "deid.dcm"
    out.write_bytes(dataset_bytes(clean))
    return out


def _zyx_to_xyz(mask: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(mask, (2, 1, 0)))


def _seg(job: MrMapJob, name: str, content: bytes, segment: str, tmp: Path) -> Masks:
    shape, affine = _grid(job)
    raw = tmp / "seg.dcm"
    raw.write_bytes(content)
    try:
        found = {
            label: (mask, "seg", {"segment": label})
            for label, mask in seg_masks(str(raw), shape, affine).items()
        }
    except QuantError as exc:
        if "does not lie on a slice" not in str(exc) and "frames are" not in str(exc):
            raise
        path = _deidentified(job, content, "SEG", tmp)
        geometry = _geometry(job)
        found = {
            v.name: (_zyx_to_xyz(v.full(geometry.shape)), "seg", {"segment": v.name, "method": v.method})
            for v in seg_vois(geometry, str(path), segment or None)
        }
    if segment:
        if segment not in found:
            raise ValidationError(
                {"__all__": f"the SEG has no segment {segment!r} (segments: {', '.join(found)})"}
            )
        found = {segment: found[segment]}
    return {f"{name}:{label}"[:40] if not segment else name: item for label, item in found.items()}


def _rtstruct(job: MrMapJob, name: str, content: bytes, roi: str, tmp: Path) -> Masks:
    path = _deidentified(job, content, "RTSTRUCT", tmp)
    names = rtstruct_roi_names(str(path))
    if not roi:
        if len(names) != 1:
            raise ValidationError({"__all__": f"name the RTSTRUCT ROI to use ({', '.join(names) or 'none'})"})
        roi = names[0]
    geometry = _geometry(job)
    voi = rtstruct_voi(name, geometry, str(path), roi)
    return {name: (_zyx_to_xyz(voi.full(geometry.shape)), "rtstruct", {"roi": roi, "method": voi.method})}


def roi_masks(
    *,
    job: MrMapJob,
    name: str,
    sphere: str | None = None,
    nifti: bytes | None = None,
    seg: bytes | None = None,
    rtstruct: bytes | None = None,
    segment: str = "",
) -> Masks:
    """{ROI name: (mask on the series grid (x, y, z), source, definition)} for one ROI definition: a sphere
    'X,Y,Z,R' (patient mm), a NIfTI mask on the grid, a DICOM SEG (every segment, named NAME:label, unless
    ``segment`` picks one, then named NAME) or one RTSTRUCT ROI (``segment`` names it when there are several)."""
    if sum(x is not None for x in (sphere, nifti, seg, rtstruct)) != 1:
        raise ValidationError(
            {"__all__": "give exactly one of a sphere, a NIfTI mask, a DICOM SEG or an RTSTRUCT"}
        )
    shape, affine = _grid(job)
    try:
        if sphere is not None:
            mask = sphere_mask(parse_sphere(f"{name}:{sphere}"), shape, affine)
            return {name: (mask, "sphere", {"sphere_mm": sphere})}
        if nifti is not None:
            return {name: (nifti_mask(name, nifti, shape), "nifti", {})}
        with tempfile.TemporaryDirectory() as tmp:
            if seg is not None:
                return _seg(job, name, seg, segment, Path(tmp))
            return _rtstruct(job, name, rtstruct or b"", segment, Path(tmp))
    except QuantError as exc:
        raise ValidationError({"__all__": str(exc)}) from exc


@transaction.atomic
def roi_store(*, ctx: AuditContext, job: MrMapJob, masks: Masks) -> list[MrRoi]:
    """Store masks made by ``roi_masks`` as MrRoi rows with each map's statistics inside (audited)."""
    access.require(ctx.user, CAPABILITY, job.participant.site_id)
    if job.state != JobState.DONE:
        raise ValidationError({"__all__": "the maps are not ready yet"})
    values = _map_values(job)
    out = []
    for roi_name, (mask, source, definition) in masks.items():
        stats = {param: map_stats(arr[mask]) for param, arr in values.items()}
        out.append(
            audited_create(
                MrRoi(
                    participant=job.participant,
                    job=job,
                    name=roi_name,
                    source=source,
                    definition=definition,
                    voxel_count=int(mask.sum()),
                    stats=stats,
                ),
                ctx=ctx,
            )
        )
    return out


@transaction.atomic
def roi_add(
    *,
    ctx: AuditContext,
    job: MrMapJob,
    name: str,
    sphere: str | None = None,
    nifti: bytes | None = None,
    seg: bytes | None = None,
    rtstruct: bytes | None = None,
    segment: str = "",
) -> list[MrRoi]:
    """Add one ROI (or one per SEG segment, named NAME:segment) and store each map's statistics inside it."""
    access.require(ctx.user, CAPABILITY, job.participant.site_id)
    if job.state != JobState.DONE:
        raise ValidationError({"__all__": "the maps are not ready yet"})
    masks = roi_masks(
        job=job, name=name, sphere=sphere, nifti=nifti, seg=seg, rtstruct=rtstruct, segment=segment
    )
    return roi_store(ctx=ctx, job=job, masks=masks)
