"""A registry lesion's MRI parameter set from an ROI on the voxel-wise maps of an MRI scan (mri app).

The ROI (sphere, NIfTI mask, DICOM SEG segment or RTSTRUCT ROI) is placed and summarised by
mri.services_rois (stored as an MrRoi, audited); the lesion gets an MriParameterSet (method voxel-wise) holding
the median of each map over the ROI in the registry's units, the spread of every map (median, quartiles, mean,
SD, voxels), the voxel count and the volume, with the job's provenance. Both writes are audited, in one
transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import nibabel as nib
import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from lesions.models import JobStatus, Lesion, MaskAnalysis, MriParameterSet, ParameterKind, ParameterMethod
from lesions.services.common import CAPABILITY
from lesions.services.mri import roi_get_or_create, store_bytes
from mri import services_rois
from mri.models import JobState, MrMap, MrMapJob
from trial.access import require
from trial.audit import AuditContext, audited_create

# map parameter (mri) -> (MriParameterSet field, factor to the field's unit), per kind of model
DCE_FIELDS: dict[str, tuple[str, float]] = {
    "ktrans_per_min": ("ktrans_per_min", 1.0),
    "ve": ("ve", 1.0),
    "vp": ("vp", 1.0),
    "kep_per_min": ("kep_per_min", 1.0),
    "fp_ml_per_min_per_ml": ("fp_ml_100ml_min", 100.0),  # ml/min/ml -> ml/100ml/min
    "ps_ml_per_min_per_ml": ("ps_per_min", 1.0),  # ml/min/ml = /min
    "iauc60_mM_s": ("iauc60_mm_s", 1.0),
    "time_to_peak_s": ("time_to_peak_s", 1.0),
    "initial_slope_mM_per_s": ("initial_slope_mm_per_s", 1.0),
}
MODEL_FIELDS: dict[str, tuple[str, dict[str, tuple[str, float]]]] = {
    "tofts": (ParameterKind.DCE, DCE_FIELDS),
    "extended_tofts": (ParameterKind.DCE, DCE_FIELDS),
    "2cxm": (ParameterKind.DCE, DCE_FIELDS),
    "ivim": (
        ParameterKind.IVIM,
        {
            "f": ("ivim_f", 1.0),
            "d_mm2_per_s": ("ivim_d_mm2_s", 1.0),
            "dstar_mm2_per_s": ("ivim_dstar_mm2_s", 1.0),
        },
    ),
    "dki": (ParameterKind.DKI, {"d_mm2_per_s": ("dki_d_mm2_s", 1.0), "k": ("dki_k", 1.0)}),
}
SPREAD_KEYS = ("median", "q1", "q3", "mean", "sd")


def _acquired_on(job: MrMapJob) -> dt.date:
    scan = job.scan
    if scan.acquired_at is not None:
        return scan.acquired_at.date()
    return scan.visit.planned_date


def _scaled(stats: dict[str, Any], factor: float) -> dict[str, Any]:
    out = {k: (v * factor if k in SPREAD_KEYS and v is not None else v) for k, v in stats.items()}
    out.pop("display_min", None)
    out.pop("display_max", None)
    return out


@transaction.atomic
def lesion_parameters_from_maps(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    job: MrMapJob,
    roi_label: str = "whole lesion",
    sphere: str | None = None,
    nifti: bytes | None = None,
    seg: bytes | None = None,
    rtstruct: bytes | None = None,
    segment: str = "",
    texture_map: str = "",
    bin_width: float | None = None,
) -> MriParameterSet:
    """Place one ROI on ``job``'s maps and store the lesion's MRI parameter set from it; with ``texture_map`` (a
    map parameter of the job) also queue the ROI's volume and the IBSI texture of that map inside it (fixed bin
    width ``bin_width`` in the map's unit) as a MaskAnalysis."""
    require(ctx.user, CAPABILITY, lesion.participant.site_id)
    require(ctx.user, services_rois.CAPABILITY, job.participant.site_id)
    if lesion.voided or job.voided:
        raise ValidationError({"__all__": "the lesion or the map job is voided"})
    if lesion.participant_id != job.participant_id:
        raise ValidationError({"job": "the map job belongs to another participant"})
    if job.state != JobState.DONE:
        raise ValidationError({"job": "the maps of this job are not ready"})
    kind, fields = MODEL_FIELDS[job.model]
    texture_of = _texture_map(job, texture_map, bin_width)
    masks = services_rois.roi_masks(
        job=job, name=lesion.label, sphere=sphere, nifti=nifti, seg=seg, rtstruct=rtstruct, segment=segment
    )
    if len(masks) != 1:
        raise ValidationError(
            {
                "segment": f"the SEG holds {len(masks)} segments; name the one of this lesion ({', '.join(masks)})"
            }
        )
    acquired_on = _acquired_on(job)
    visit = job.scan.visit if job.scan.visit.kind == "mri" else None
    roi = roi_get_or_create(ctx=ctx, lesion=lesion, acquired_on=acquired_on, visit=visit, label=roi_label)
    twin = MriParameterSet.objects.filter(roi=roi, mr_roi__job=job, voided=False).first()
    if twin is not None:
        raise ValidationError(
            {
                "__all__": f"this lesion's ROI {roi_label!r} already has its parameters from these maps (#{twin.pk})"
            }
        )
    ((_name, item),) = masks.items()
    (mr_roi,) = services_rois.roi_store(ctx=ctx, job=job, masks={lesion.label[:40]: item})
    values: dict[str, float] = {}
    spread: dict[str, Any] = {}
    for parameter, stats in mr_roi.stats.items():
        field, factor = fields.get(parameter, (parameter, 1.0))
        spread[field] = _scaled(stats, factor)
        if parameter in fields and stats.get("median") is not None:
            values[field] = float(stats["median"]) * factor
    volume_ml = mr_roi.voxel_count * services_rois.voxel_volume_ml(job)
    provenance = {
        "source": "voxel-wise maps of MR DICOM (mri app), median over the ROI",
        "mr_map_job": job.pk,
        "mr_roi": mr_roi.pk,
        "roi": {
            "source": mr_roi.source,
            "definition": mr_roi.definition,
            "voxel_count": mr_roi.voxel_count,
            "volume_ml": volume_ml,
        },
        "engine": job.provenance.get("engine"),
        "aif": job.provenance.get("aif"),
        "t10_source": job.provenance.get("t10_source"),
        "inputs": job.provenance.get("inputs"),
        "units": {"fp_ml_100ml_min": "Fp map (ml/min/ml) x 100"},
    }
    parameter_set = audited_create(
        MriParameterSet(
            participant=lesion.participant,
            roi=roi,
            kind=kind,
            method=ParameterMethod.VOXELWISE,
            model=job.model,
            status=JobStatus.DONE,
            fit_success=True,
            mr_roi=mr_roi,
            voxel_count=mr_roi.voxel_count,
            volume_ml=volume_ml,
            spread=spread,
            provenance=provenance,
            **values,
        ),
        ctx=ctx,
        reason=f"medians of the {job.get_model_display()} maps (job #{job.pk}) over ROI {mr_roi.name}",
    )
    if texture_of is not None:
        _queue_texture(ctx=ctx, lesion=lesion, roi=roi, mr_roi=mr_roi, mask=item[0], texture_of=texture_of)
    return parameter_set


def _texture_map(job: MrMapJob, parameter: str, bin_width: float | None) -> tuple[MrMap, float] | None:
    """The job's map whose texture is asked for, with its bin width; None when no texture is asked for."""
    if not parameter:
        return None
    the_map = job.maps.filter(voided=False, parameter=parameter).first()
    if the_map is None:
        names = ", ".join(job.maps.filter(voided=False).values_list("parameter", flat=True))
        raise ValidationError({"texture_map": f"these maps have no {parameter!r} map (they have: {names})"})
    if not (bin_width and bin_width > 0):
        raise ValidationError({"bin_width": "texture needs a positive fixed bin width (in the map's unit)"})
    return the_map, float(bin_width)


def _queue_texture(
    *, ctx: AuditContext, lesion: Lesion, roi: Any, mr_roi: Any, mask: Any, texture_of: tuple[MrMap, float]
) -> MaskAnalysis:
    """Store the ROI mask and the map as NIfTI on one grid and queue volumetry and IBSI texture (audited)."""
    from lesions import tasks

    the_map, bin_width = texture_of
    with default_storage.open(the_map.nifti_path, "rb") as handle:
        map_bytes = handle.read()
    affine = nib.Nifti1Image.from_bytes(map_bytes).affine
    mask_bytes = nib.Nifti1Image(np.asarray(mask, dtype=np.uint8), affine).to_bytes()
    analysis = MaskAnalysis(
        participant=lesion.participant,
        lesion=lesion,
        roi=roi,
        mr_roi=mr_roi,
        acquired_on=roi.acquired_on,
        modality="mri",
        bin_width=bin_width,
        status=JobStatus.PENDING,
    )
    analysis.mask_file = store_bytes("masks", f"roi{mr_roi.pk}_mask.nii.gz", mask_bytes)
    analysis.image_file = store_bytes("masks", f"roi{mr_roi.pk}_{the_map.parameter}.nii.gz", map_bytes)
    audited_create(analysis, ctx=ctx, reason=f"texture of the {the_map.label} map over ROI {mr_roi.name}")
    transaction.on_commit(lambda: tasks.analyse_mask.delay(analysis.pk))
    return analysis
