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

from django.core.exceptions import ValidationError
from django.db import transaction

from lesions.models import JobStatus, Lesion, MriParameterSet, ParameterKind, ParameterMethod
from lesions.services.common import CAPABILITY
from lesions.services.mri import roi_get_or_create
from mri import services_rois
from mri.models import JobState, MrMapJob
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
) -> MriParameterSet:
    """Place one ROI on ``job``'s maps and store the lesion's MRI parameter set from it."""
    require(ctx.user, CAPABILITY, lesion.participant.site_id)
    require(ctx.user, services_rois.CAPABILITY, job.participant.site_id)
    if lesion.voided or job.voided:
        raise ValidationError({"__all__": "the lesion or the map job is voided"})
    if lesion.participant_id != job.participant_id:
        raise ValidationError({"job": "the map job belongs to another participant"})
    if job.state != JobState.DONE:
        raise ValidationError({"job": "the maps of this job are not ready"})
    kind, fields = MODEL_FIELDS[job.model]
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
    return audited_create(
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
