"""MRI parameter sets (entered, curve and voxel-wise fits), mask analyses, their files and worker results."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from lesions.models import (
    PARAMETER_FIELDS,
    JobStatus,
    Lesion,
    MaskAnalysis,
    MriParameterSet,
    MriRoi,
    ParameterKind,
    ParameterMethod,
)
from lesions.services.common import CAPABILITY
from trial.access import require
from trial.audit import AuditContext, audited_create, audited_update
from trial.models import Visit


def store_bytes(folder: str, name: str, data: bytes) -> str:
    """Save bytes on the default storage under lesions/<folder>/ and return the stored path."""
    safe = os.path.basename(name or "upload").replace(" ", "_")[:80] or "upload"
    return default_storage.save(f"lesions/{folder}/{uuid.uuid4().hex[:12]}_{safe}", ContentFile(data))


def read_bytes(path: str) -> bytes:
    with default_storage.open(path, "rb") as fh:
        return fh.read()


def roi_get_or_create(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    visit: Visit | None = None,
    label: str = "whole lesion",
) -> MriRoi:
    require(ctx.user, CAPABILITY, lesion.participant.site_id)
    if visit is not None and (visit.participant_id != lesion.participant_id or visit.kind != "mri"):
        raise ValidationError({"visit": "choose one of this participant's MRI visits"})
    roi = MriRoi.objects.filter(lesion=lesion, acquired_on=acquired_on, label=label, voided=False).first()
    if roi is None:
        roi = audited_create(
            MriRoi(
                participant=lesion.participant,
                lesion=lesion,
                visit=visit,
                acquired_on=acquired_on,
                label=label,
            ),
            ctx=ctx,
        )
    return roi


def _check_values(kind: str, values: dict[str, float | None]) -> dict[str, float]:
    clean = {k: v for k, v in values.items() if v is not None}
    unknown = set(clean) - set(PARAMETER_FIELDS)
    if unknown:
        raise ValidationError({"__all__": f"unknown parameter(s): {', '.join(sorted(unknown))}"})
    if not clean:
        raise ValidationError({"__all__": "enter at least one parameter value"})
    fractions = ("ve", "vp", "ivim_f")
    for name, value in clean.items():
        if value < 0 and name != "washout_fraction":
            raise ValidationError({name: f"{name} cannot be negative"})
        if name in fractions and value > 1:
            raise ValidationError({name: f"{name} is a fraction between 0 and 1"})
    dce_only = {
        "ktrans_per_min",
        "ve",
        "vp",
        "kep_per_min",
        "fp_ml_100ml_min",
        "ps_per_min",
        "iauc60_mm_s",
        "iauc90_mm_s",
        "time_to_peak_s",
        "initial_slope_mm_per_s",
        "washout_fraction",
    }
    allowed = {
        "dce": dce_only,
        "ivim": {"ivim_f", "ivim_d_mm2_s", "ivim_dstar_mm2_s"},
        "dki": {"dki_d_mm2_s", "dki_k"},
    }[kind]
    wrong = set(clean) - allowed
    if wrong:
        raise ValidationError({sorted(wrong)[0]: f"{', '.join(sorted(wrong))} do not belong to a {kind} set"})
    return clean


@transaction.atomic
def parameters_enter(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    kind: str,
    values: dict[str, float | None],
    model: str = "",
    visit: Visit | None = None,
    roi_label: str = "whole lesion",
    fit_rms: float | None = None,
) -> MriParameterSet:
    """Store fitted parameters typed in by the radiologist."""
    clean = _check_values(kind, values)
    if kind == "dce" and "ktrans_per_min" in clean and "ve" in clean and clean["ve"] > 0:
        clean.setdefault("kep_per_min", clean["ktrans_per_min"] / clean["ve"])
    roi = roi_get_or_create(ctx=ctx, lesion=lesion, acquired_on=acquired_on, visit=visit, label=roi_label)
    ps = MriParameterSet(
        participant=lesion.participant,
        roi=roi,
        kind=kind,
        method=ParameterMethod.ENTERED,
        model=model,
        fit_rms=fit_rms,
        status=JobStatus.DONE,
        provenance={"source": "entered by reader"},
        **clean,
    )
    return audited_create(ps, ctx=ctx)


DCE_MODELS = ("tofts", "extended_tofts", "2cxm")


@transaction.atomic
def curve_upload(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    kind: str,
    upload: UploadedFile,
    model: str = "",
    visit: Visit | None = None,
    roi_label: str = "whole lesion",
) -> MriParameterSet:
    """Store an uploaded curve CSV and queue its fit (lesions.tasks.fit_curve)."""
    from lesions import tasks
    from quant.mri import io as mri_io

    if kind not in ParameterKind.values:
        raise ValidationError({"kind": f"unknown kind {kind!r}"})
    if kind == "dce" and model not in DCE_MODELS:
        raise ValidationError({"model": f"choose a DCE model: {', '.join(DCE_MODELS)}"})
    data = upload.read()
    try:
        mri_io.parse_curve(data, kind)
    except mri_io.MriInputError as exc:
        raise ValidationError({"upload": str(exc)}) from exc
    roi = roi_get_or_create(ctx=ctx, lesion=lesion, acquired_on=acquired_on, visit=visit, label=roi_label)
    if kind == "ivim":
        model = model or "ivim_segmented"
    ps = MriParameterSet(
        participant=lesion.participant,
        roi=roi,
        kind=kind,
        method=ParameterMethod.CURVE_FIT,
        model=model or kind,
        status=JobStatus.PENDING,
    )
    ps.input_file = store_bytes("mri", upload.name or "curve.csv", data)
    audited_create(ps, ctx=ctx)
    transaction.on_commit(lambda: tasks.fit_curve.delay(ps.pk))
    return ps


@transaction.atomic
def voxelwise_upload(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    dynamic: UploadedFile,
    mask: UploadedFile,
    aif: UploadedFile | None = None,
    population_delay_s: float = 0.0,
    visit: Visit | None = None,
    roi_label: str = "whole lesion",
) -> MriParameterSet:
    """Store a 4D concentration series, a 3D mask and an AIF; queue the voxel-wise extended Tofts fit."""
    from lesions import tasks
    from quant.mri import io as mri_io

    dyn_bytes, mask_bytes = dynamic.read(), mask.read()
    aif_bytes = aif.read() if aif else b""
    try:
        dyn, zooms, _ = mri_io.load_nifti(dyn_bytes, "dynamic series")
        msk, _, _ = mri_io.load_nifti(mask_bytes, "mask")
        mri_io.check_dynamic(dyn, msk)
        if aif_bytes:
            cols = mri_io.parse_csv_columns(aif_bytes, mri_io.AIF_COLUMNS, "AIF CSV")
            if cols["t_s"].size != dyn.shape[3]:
                raise mri_io.MriInputError(
                    f"AIF CSV has {cols['t_s'].size} rows but the dynamic series has {dyn.shape[3]} frames"
                )
        else:
            mri_io.frame_times(zooms, dyn.shape[3])
    except mri_io.MriInputError as exc:
        raise ValidationError({"dynamic": str(exc)}) from exc
    roi = roi_get_or_create(ctx=ctx, lesion=lesion, acquired_on=acquired_on, visit=visit, label=roi_label)
    ps = MriParameterSet(
        participant=lesion.participant,
        roi=roi,
        kind=ParameterKind.DCE,
        method=ParameterMethod.VOXELWISE,
        model="extended_tofts",
        status=JobStatus.PENDING,
        provenance={
            "aif": "measured (uploaded CSV)" if aif_bytes else "Parker 2006 population AIF",
            "population_delay_s": population_delay_s,
        },
    )
    ps.input_file = store_bytes("mri", dynamic.name or "dynamic.nii.gz", dyn_bytes)
    ps.mask_file = store_bytes("mri", mask.name or "mask.nii.gz", mask_bytes)
    if aif_bytes:
        ps.aif_file = store_bytes("mri", aif.name or "aif.csv", aif_bytes)
    audited_create(ps, ctx=ctx)
    transaction.on_commit(lambda: tasks.fit_voxelwise.delay(ps.pk))
    return ps


@transaction.atomic
def mask_analysis_upload(
    *,
    ctx: AuditContext,
    lesion: Lesion,
    acquired_on: dt.date,
    mask: UploadedFile,
    image: UploadedFile | None = None,
    bin_width: float | None = None,
    modality: str = "mri",
) -> MaskAnalysis:
    """Store a lesion mask (and optional image for texture); queue volumetry + texture."""
    from lesions import tasks
    from quant.mri import io as mri_io

    require(ctx.user, CAPABILITY, lesion.participant.site_id)
    mask_bytes = mask.read()
    image_bytes = image.read() if image else b""
    try:
        msk, _, _ = mri_io.load_nifti(mask_bytes, "mask")
        if msk.ndim != 3 or not (msk > 0).any():
            raise mri_io.MriInputError("mask must be a non-empty 3D image")
        if image_bytes:
            img, _, _ = mri_io.load_nifti(image_bytes, "image")
            if img.shape != msk.shape:
                raise mri_io.MriInputError(f"image shape {img.shape} does not match mask shape {msk.shape}")
    except mri_io.MriInputError as exc:
        raise ValidationError({"mask": str(exc)}) from exc
    if image_bytes and not (bin_width and bin_width > 0):
        raise ValidationError({"bin_width": "texture needs a positive fixed bin width"})
    ma = MaskAnalysis(
        participant=lesion.participant,
        lesion=lesion,
        acquired_on=acquired_on,
        modality=modality,
        bin_width=bin_width if image_bytes else None,
        status=JobStatus.PENDING,
    )
    ma.mask_file = store_bytes("masks", mask.name or "mask.nii.gz", mask_bytes)
    if image_bytes:
        ma.image_file = store_bytes("masks", image.name or "image.nii.gz", image_bytes)
    audited_create(ma, ctx=ctx)
    transaction.on_commit(lambda: tasks.analyse_mask.delay(ma.pk))
    return ma


def job_finish(*, ctx: AuditContext, instance: Any, data: dict[str, Any], what: str) -> None:
    """Store a worker's result (audited)."""
    audited_update(instance, ctx=ctx, data=data, reason=f"{what} computed by worker")
