"""ROIs on a job's maps (sphere, NIfTI mask, DICOM SEG): each map's median and spread inside, stored (audited)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from mri.models import JobState, MrMapJob, MrRoi
from quant.errors import QuantError
from quant.mri.map_outputs import map_stats
from quant.mri.rois import nifti_mask, parse_sphere, seg_masks, sphere_mask
from trial import access
from trial.audit import AuditContext, audited_create

CAPABILITY = "imaging"


def _grid(job: MrMapJob) -> tuple[tuple[int, int, int], np.ndarray]:
    acq = job.series.acquisition
    return tuple(int(v) for v in acq["shape"][:3]), np.array(acq["affine"], dtype=float)


def _map_values(job: MrMapJob) -> dict[str, np.ndarray]:
    out = {}
    for m in job.maps.filter(voided=False):
        with default_storage.open(m.nifti_path, "rb") as handle:
            out[m.parameter] = np.asarray(nib.Nifti1Image.from_bytes(handle.read()).dataobj, dtype=float)
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
) -> list[MrRoi]:
    """Add one ROI (or one per SEG segment, named NAME:segment) and store each map's statistics inside it."""
    access.require(ctx.user, CAPABILITY, job.participant.site_id)
    if job.state != JobState.DONE:
        raise ValidationError({"__all__": "the maps are not ready yet"})
    if sum(x is not None for x in (sphere, nifti, seg)) != 1:
        raise ValidationError({"__all__": "give exactly one of a sphere, a NIfTI mask or a DICOM SEG"})
    shape, affine = _grid(job)
    try:
        if sphere is not None:
            masks = {
                name: (
                    sphere_mask(parse_sphere(f"{name}:{sphere}"), shape, affine),
                    "sphere",
                    {"sphere_mm": sphere},
                )
            }
        elif nifti is not None:
            masks = {name: (nifti_mask(name, nifti, shape), "nifti", {})}
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "seg.dcm"
                path.write_bytes(seg or b"")
                found = seg_masks(str(path), shape, affine)
            masks = {
                f"{name}:{label}"[:40]: (mask, "seg", {"segment": label}) for label, mask in found.items()
            }
    except QuantError as exc:
        raise ValidationError({"__all__": str(exc)}) from exc
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
