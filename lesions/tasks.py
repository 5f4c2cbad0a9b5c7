"""Celery tasks (thin): fit uploaded MRI curves, voxel-wise DCE maps, mask volumetry and texture."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from celery import shared_task
from django.db import transaction

from lesions.services import read_bytes, store_bytes
from trial.audit import AuditContext, audited_create
from trial.models import AuditSource
from trial.write_gate import RecordLocked, refused_before_work, report_refusal

FAILED_INPUT = (ValueError, ArithmeticError)


def _ctx() -> AuditContext:
    return AuditContext.system(source=AuditSource.WORKER)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _refused(instance: Any, what: str) -> bool:
    """Frozen or locked data refuses a recompute before any work: the refusal is recorded, nothing is written."""
    return refused_before_work(instance, ctx=_ctx(), what=what) is not None


def _finish(instance: Any, what: str, store: Any, files: list[str] | None = None) -> str:
    """Run `store()` (the result's audited writes); a lock that arrived during the computation refuses it
    whole (recorded, nothing written) instead of failing the task silently. `files`: the paths `store()` saved
    on the storage as it went; when the writes do not commit (refused or failed) they are removed, so no
    partial map is left behind with no record pointing at it."""
    try:
        with transaction.atomic():
            store()
    except RecordLocked as exc:
        _remove(files)
        report_refusal(instance, ctx=_ctx(), what=what, refusal=exc)
        return "refused"
    except BaseException:
        _remove(files)
        raise
    return "done"


def _remove(files: list[str] | None) -> None:
    from django.core.files.storage import default_storage

    for path in files or []:
        default_storage.delete(path)


def _fail(instance: Any, exc: Exception, what: str) -> None:
    from lesions.services import job_finish

    job_finish(ctx=_ctx(), instance=instance, data={"status": "failed", "error": str(exc)[:500]}, what=what)


def _dce_values(kind_model: str, t: np.ndarray, cols: dict[str, np.ndarray]) -> tuple[dict, dict]:
    from quant.mri.dce import fit_dce_curve, semi_quantitative

    fit = fit_dce_curve(t, cols["ct_mM"], cols["cp_mM"], kind_model)
    p = fit.params
    values = {
        "ktrans_per_min": _num(p.get("Ktrans_per_min")),
        "ve": _num(p.get("ve")),
        "vp": _num(p.get("vp")),
        "fp_ml_100ml_min": _num(p.get("Fp_ml_100ml_min")),
        "ps_per_min": _num(p.get("PS_per_min")),
        "fit_rms": _num(fit.residual_rms_mM),
        "fit_success": fit.success,
    }
    if values["ktrans_per_min"] is not None and values["ve"]:
        values["kep_per_min"] = values["ktrans_per_min"] / values["ve"]
    prov = {"engine": "quant.mri.dce.fit_dce_curve", "model": kind_model, "definitions": fit.definitions}
    try:
        sq = semi_quantitative(t, cols["ct_mM"])
    except ValueError as exc:
        prov["semi_quantitative"] = f"not computed: {exc}"
    else:
        values.update(
            {
                "iauc60_mm_s": _num(sq["iAUC60_mM_s"]),
                "iauc90_mm_s": _num(sq["iAUC90_mM_s"]),
                "time_to_peak_s": _num(sq["time_to_peak_s"]),
                "initial_slope_mm_per_s": _num(sq["initial_slope_mM_per_s"]),
                "washout_fraction": _num(sq["washout_fraction"]),
            }
        )
        prov["semi_quantitative"] = {
            "engine": "quant.mri.dce_semiquant",
            "arrival_s": sq["arrival_s"],
            "definitions": sq["definitions"],
        }
    return values, prov


def _diffusion_values(kind: str, model: str, cols: dict[str, np.ndarray]) -> tuple[dict, dict]:
    from quant.mri import dki, ivim

    b, s = cols["b_s_mm2"], cols["signal"]
    if kind == "ivim":
        fn = ivim.fit_ivim_segmented if model == "ivim_segmented" else ivim.fit_ivim
        r = fn(b, s)
        fitted = ivim.ivim_signal(b, r.S0, r.f, r.Dstar_mm2_s, r.D_mm2_s)
        values = {"ivim_f": r.f, "ivim_d_mm2_s": r.D_mm2_s, "ivim_dstar_mm2_s": r.Dstar_mm2_s}
        prov = {"engine": f"quant.mri.ivim.{fn.__name__}", "method": r.method, "S0": r.S0}
    else:
        r = dki.fit_dki(b, s)
        fitted = dki.dki_signal(b, r.S0, r.D_mm2_s, r.K)
        values = {"dki_d_mm2_s": r.D_mm2_s, "dki_k": r.K}
        prov = {"engine": "quant.mri.dki.fit_dki", "S0": r.S0, "b_limit_s_mm2": _num(r.b_limit_s_mm2)}
    values["fit_rms"] = float(np.sqrt(np.mean((fitted - s) ** 2)))
    values["fit_success"] = True
    return values, prov


@shared_task(acks_late=True)
def fit_curve(parameter_set_id: int) -> str:
    """Fit an uploaded DCE or diffusion curve and store the parameters on the set."""
    from lesions.models import MriParameterSet
    from lesions.services import job_finish
    from quant.mri import io as mri_io

    ps = MriParameterSet.objects.get(pk=parameter_set_id)
    if _refused(ps, "curve fit"):
        return "refused"
    try:
        cols = mri_io.parse_curve(read_bytes(ps.input_file), ps.kind)
        if ps.kind == "dce":
            values, prov = _dce_values(ps.model, cols["t_s"], cols)
        else:
            values, prov = _diffusion_values(ps.kind, ps.model, cols)
    except FAILED_INPUT as exc:
        _fail(ps, exc, "curve fit")
        return "failed"
    prov.update({"input": ps.input_file, "computed_at": dt.datetime.now(dt.UTC).isoformat()})
    return _finish(
        ps,
        "curve fit",
        lambda: job_finish(
            ctx=_ctx(),
            instance=ps,
            data={**values, "status": "done", "error": "", "provenance": prov},
            what="curve fit",
        ),
    )


def _load(path: str, what: str) -> tuple[np.ndarray, tuple[float, ...], Any]:
    from quant.mri import io as mri_io

    return mri_io.load_nifti(read_bytes(path), what)


@shared_task(acks_late=True)
def fit_voxelwise(parameter_set_id: int) -> str:
    """Vectorised extended Tofts over every mask voxel; maps stored as NIfTI DerivedImages."""
    from lesions.models import DerivedImage, MriParameterSet
    from lesions.services import job_finish
    from quant.mri import io as mri_io
    from quant.mri.aif import parker_plasma_mM
    from quant.mri.dce import fit_extended_tofts_voxelwise

    ps = MriParameterSet.objects.get(pk=parameter_set_id)
    if _refused(ps, "voxel-wise fit"):
        return "refused"
    try:
        dyn, zooms, affine = _load(ps.input_file, "dynamic series")
        mask, _, _ = _load(ps.mask_file, "mask")
        mri_io.check_dynamic(dyn, mask)
        if ps.aif_file:
            cols = mri_io.parse_csv_columns(read_bytes(ps.aif_file), mri_io.AIF_COLUMNS, "AIF CSV")
            t, cp = cols["t_s"], cols["cp_mM"]
        else:
            t = mri_io.frame_times(zooms, dyn.shape[3])
            cp = parker_plasma_mM(t, delay_s=float(ps.provenance.get("population_delay_s", 0.0)))
        m = mask > 0
        started = dt.datetime.now(dt.UTC)
        maps = fit_extended_tofts_voxelwise(dyn.astype(float), t, cp, m)
        seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    except FAILED_INPUT as exc:
        _fail(ps, exc, "voxel-wise fit")
        return "failed"
    prov = {
        **ps.provenance,
        "engine": "quant.mri.dce.fit_extended_tofts_voxelwise",
        "method": "Murase linear least squares start + batched bounded Levenberg-Marquardt (vectorised)",
        "inputs": {"dynamic": ps.input_file, "mask": ps.mask_file, "aif": ps.aif_file or None},
        "frames": int(dyn.shape[3]),
        "voxels_fitted": int(m.sum()),
        "fit_seconds": round(seconds, 3),
        "computed_at": started.isoformat(),
    }
    summary: dict[str, Any] = {}
    written: list[str] = []  # removed again by _finish unless the writes commit

    def save(name: str, data: bytes) -> str:
        written.append(store_bytes("derived", name, data))
        return written[-1]

    def store() -> None:
        for name, field in (
            ("Ktrans_per_min", "ktrans_per_min"),
            ("ve", "ve"),
            ("vp", "vp"),
            ("kep_per_min", "kep_per_min"),
            ("residual_rms_mM", "fit_rms"),
        ):
            stats = mri_io.roi_stats(maps[name], m)
            summary[field] = stats.get("median")
            img = DerivedImage(
                participant=ps.participant,
                parameter_set=ps,
                parameter=name,
                stats=stats,
                provenance={**prov, "parameter": name, "roi_summary": "median over ROI"},
            )
            img.file = save(f"ps{ps.pk}_{name}.nii", mri_io.nifti_bytes(maps[name], affine))
            img.preview = save(f"ps{ps.pk}_{name}.png", mri_io.slice_preview_png(maps[name], m, name))
            audited_create(img, ctx=_ctx(), reason="voxel-wise map computed by worker")
        job_finish(
            ctx=_ctx(),
            instance=ps,
            data={**summary, "status": "done", "error": "", "fit_success": True, "provenance": prov},
            what="voxel-wise fit",
        )

    return _finish(ps, "voxel-wise fit", store, written)


@shared_task(acks_late=True)
def analyse_mask(analysis_id: int) -> str:
    """Lesion volume (voxel count and mesh) and, with an image, IBSI texture features."""
    from lesions.models import MaskAnalysis
    from lesions.services import job_finish
    from quant.mri import io as mri_io
    from quant.radiomics.texture import Discretisation, TextureSettings, compute_features
    from quant.radiomics.volumetry import lesion_volume

    ma = MaskAnalysis.objects.get(pk=analysis_id)
    if _refused(ma, "volumetry/texture"):
        return "refused"
    try:
        mask, zooms, _ = _load(ma.mask_file, "mask")
        m, spacing = mri_io.zyx(mask > 0, zooms)
        vol = lesion_volume(m, spacing)
        features: dict[str, float] = {}
        prov: dict[str, Any] = {
            "volumetry": {
                "engine": "quant.radiomics.volumetry.lesion_volume",
                "formula": vol.formula,
                "axes": "(z, y, x) from NIfTI (x, y, z)",
            }
        }
        if ma.image_file:
            img, _, _ = _load(ma.image_file, "image")
            arr, _ = mri_io.zyx(img.astype(float), zooms)
            settings = TextureSettings(discretisation=Discretisation("fbs", bin_width=float(ma.bin_width)))
            tex = compute_features(arr, m, spacing, settings)
            features = {k: _num(v) for k, v in tex.features.items()}
            prov["texture"] = {
                "engine": "quant.radiomics.texture.compute_features (IBSI 1)",
                "discretisation": tex.discretisation,
                "n_voxels": tex.n_voxels,
                "n_levels": tex.n_levels,
            }
    except FAILED_INPUT as exc:
        _fail(ma, exc, "mask analysis")
        return "failed"
    data = {
        "status": "done",
        "error": "",
        "spacing_mm": [round(float(v), 6) for v in spacing],
        "voxel_count": vol.voxel_count,
        "voxel_volume_mm3": vol.voxel_volume_mm3,
        "mesh_volume_mm3": vol.mesh_volume_mm3,
        "mesh_area_mm2": vol.mesh_area_mm2,
        "texture_features": features,
        "provenance": prov,
    }
    return _finish(
        ma,
        "volumetry/texture",
        lambda: job_finish(ctx=_ctx(), instance=ma, data=data, what="volumetry/texture"),
    )
