"""From MR DICOM series to voxel-wise parameter maps and per-VOI medians (the ``mri_fit`` contract).

``FitOptions`` holds the command's options; ``fit_series`` reads the series, converts DCE signal to
concentration (SPGR, T10 voxel-wise from a VFA series or fixed), builds the AIF, fits the model to the
voxels asked for and returns :class:`FitOutcome` (maps on the series grid, the per-VOI summary and
warnings). Every refusal is a QuantError with one readable line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from quant.errors import MriInputError, QuantInputError
from quant.mri import dce_mapping, diffusion_maps
from quant.mri.dce_semiquant import semi_quantitative
from quant.mri.dicom_series import MrSeries
from quant.mri.rois import Sphere, sphere_mask

MODELS = ("tofts", "extended_tofts", "2cxm", "ivim", "dki")
DCE_MODELS = ("tofts", "extended_tofts", "2cxm")
CONTRACT_KEYS = {
    "tofts": ("ktrans_per_min", "ve", "vp"),
    "extended_tofts": ("ktrans_per_min", "ve", "vp"),
    "2cxm": ("fp_ml_per_min_per_ml", "ps_ml_per_min_per_ml", "ve", "vp"),
    "ivim": ("f", "d_mm2_per_s", "dstar_mm2_per_s"),
    "dki": ("d_mm2_per_s", "k"),
}
ENGINE_VERSION = "quant.mri 2.0"


@dataclass
class FitOptions:
    model: str
    t10_ms: float | None = None
    vfa: MrSeries | None = None
    r1: float = 4.5
    hematocrit: float = 0.45
    aif_sphere: Sphere | None = None
    fit_delay: bool = False


@dataclass
class FitOutcome:
    model: str
    maps: dict[str, NDArray[np.float64]]  # (x, y, z), NaN outside the fitted voxels
    vois: dict[str, dict[str, float | int | None]]
    warnings: list[str]
    provenance: dict = field(default_factory=dict)

    def contract(self) -> dict:
        return {"model": self.model, "vois": self.vois, "warnings": self.warnings}


def foreground(series: MrSeries) -> NDArray[np.bool_]:
    """Voxels whose first-volume signal exceeds 10 % of its 99th percentile (the default VOI 'all')."""
    first = series.data[..., 0]
    level = 0.1 * float(np.percentile(first, 99))
    mask = first > level
    if not mask.any():
        raise MriInputError("the series has no voxel with signal")
    return mask


def fit_series(
    series: MrSeries,
    opts: FitOptions,
    vois: dict[str, NDArray[np.bool_]],
    progress: Callable[[float], None] | None = None,
) -> FitOutcome:
    """Fit opts.model on the union of the VOIs (all foreground voxels when none is given)."""
    if opts.model not in MODELS:
        raise MriInputError(f"unknown model {opts.model!r}; choose one of {', '.join(MODELS)}")
    warnings = list(series.warnings)
    shape = series.data.shape[:3]
    for name, mask in vois.items():
        if mask.shape != shape:
            raise MriInputError(f"VOI {name!r} has shape {mask.shape}, the series grid is {shape}")
    if not vois:
        vois = {"all": foreground(series)}
        warnings.append("no VOI given: the VOI 'all' holds every voxel with signal")
    fit_mask = np.zeros(shape, dtype=bool)
    for mask in vois.values():
        fit_mask |= mask
    provenance = {"engine": ENGINE_VERSION, "model": opts.model, "series_uids": list(series.series_uids)}
    if opts.model in DCE_MODELS:
        values = _fit_dce(series, opts, fit_mask, warnings, provenance, progress)
    else:
        values = _fit_diffusion(series, opts.model, fit_mask, warnings, provenance)
    maps = {}
    for name, vec in values.items():
        full = np.full(shape, np.nan)
        full[fit_mask] = vec
        maps[name] = full
    summary = {name: _summary(opts.model, maps, mask) for name, mask in vois.items()}
    return FitOutcome(opts.model, maps, summary, warnings, provenance)


def _summary(
    model: str, maps: dict[str, NDArray[np.float64]], mask: NDArray[np.bool_]
) -> dict[str, float | int | None]:
    out: dict[str, float | int | None] = {}
    for key in CONTRACT_KEYS[model]:
        vals = maps[key][mask]
        vals = vals[np.isfinite(vals)]
        out[key] = float(np.median(vals)) if vals.size else None
    out["voxel_count"] = int(mask.sum())
    return out


# --------------------------------------------------------------------------- DCE
def _t10(
    series: MrSeries, opts: FitOptions, mask: NDArray[np.bool_], warnings: list[str], prov: dict
) -> NDArray[np.float64]:
    n = int(mask.sum())
    if opts.vfa is not None:
        vfa = opts.vfa
        if vfa.data.shape[:3] != series.data.shape[:3] or not np.allclose(
            vfa.affine, series.affine, atol=0.05
        ):
            raise MriInputError("the VFA series is not on the DCE series' grid (size or position differ)")
        if vfa.flip_deg is None or vfa.tr_ms is None:
            raise MriInputError("the VFA series has no FlipAngle or RepetitionTime")
        t1, ok = dce_mapping.t1_from_vfa(vfa.data[mask].astype(float), vfa.flip_deg, vfa.tr_ms / 1000.0)
        if not ok.all():
            fallback = opts.t10_ms / 1000.0 if opts.t10_ms else float(np.nanmedian(t1)) if ok.any() else None
            if fallback is None:
                raise MriInputError("no voxel has a usable T1 from the VFA series")
            warnings.append(
                f"{int((~ok).sum())} voxel(s) without a usable VFA T1 use T10 = {fallback * 1000:.0f} ms"
            )
            t1 = np.where(ok, t1, fallback)
        prov["t10_source"] = (
            f"VFA flip angles {sorted(set(vfa.flip_deg.tolist()))} deg, TR {vfa.tr_ms} ms (voxel-wise)"
        )
        return t1
    if opts.t10_ms is None:
        raise MriInputError("DCE needs --t10-ms or --vfa-dir for T10")
    if not 0 < opts.t10_ms < 20000:
        raise MriInputError(f"--t10-ms {opts.t10_ms} is not a T1 in ms")
    prov["t10_source"] = f"fixed {opts.t10_ms} ms"
    return np.full(n, opts.t10_ms / 1000.0)


def _concentration(
    series: MrSeries, opts: FitOptions, mask: NDArray[np.bool_], nb: int, warnings: list[str], prov: dict
) -> NDArray[np.float64]:
    sig = series.data[mask].astype(float)
    t10 = _t10(series, opts, mask, warnings, prov)
    flip = float(series.flip_deg[0]) if series.flip_deg is not None else None
    if series.tr_ms and flip:
        conc, ok = dce_mapping.signal_to_concentration(sig, t10, series.tr_ms / 1000.0, flip, opts.r1, nb)
        prov["signal_model"] = f"SPGR, TR {series.tr_ms} ms, flip {flip} deg, r1 {opts.r1} /mM/s"
        if not ok.all():
            warnings.append(f"{int((~ok).sum())} voxel(s) outside the SPGR signal range were not fitted")
        return conc
    with np.errstate(all="ignore"):
        s0 = sig[:, :nb].mean(axis=1, keepdims=True)
        conc = (sig / s0 - 1.0) / (opts.r1 * t10[:, None])
    warnings.append(
        "no RepetitionTime/FlipAngle: concentration from the linear approximation (S/S0 - 1)/(r1 T10)"
    )
    prov["signal_model"] = f"linear (S/S0 - 1)/(r1 T10), r1 {opts.r1} /mM/s"
    return np.where(np.isfinite(conc), conc, np.nan)


def _fit_dce(
    series: MrSeries,
    opts: FitOptions,
    mask: NDArray[np.bool_],
    warnings: list[str],
    prov: dict,
    progress: Callable[[float], None] | None,
) -> dict[str, NDArray[np.float64]]:
    if series.n_volumes < 2:
        raise MriInputError("DCE needs a dynamic series: the series has a single temporal position")
    if series.times_s is None:
        raise MriInputError(
            "DCE needs frame times: no AcquisitionTime, TriggerTime or per-frame time differs between volumes"
        )
    if (series.tr_ms is None or series.flip_deg is None) and opts.t10_ms is None:
        raise MriInputError("DCE without RepetitionTime/FlipAngle needs --t10-ms")
    times = series.times_s
    aif_mask = None
    if opts.aif_sphere is not None:
        aif_mask = sphere_mask(opts.aif_sphere, series.data.shape[:3], series.affine)
    union = mask | aif_mask if aif_mask is not None else mask
    nb = dce_mapping.baseline_frames(series.data[union].astype(float).mean(axis=0))
    conc_all = _concentration(series, opts, union, nb, warnings, prov)
    in_union = np.flatnonzero(union.ravel())
    pos = {v: i for i, v in enumerate(in_union)}
    rows = np.array([pos[v] for v in np.flatnonzero(mask.ravel())])
    conc = conc_all[rows]
    if aif_mask is not None:
        arows = np.array([pos[v] for v in np.flatnonzero(aif_mask.ravel())])
        cb = np.nanmean(conc_all[arows], axis=0)
        if not np.all(np.isfinite(cb)):
            raise MriInputError("the AIF sphere has no usable concentration curve")
        aif = dce_mapping.make_aif("measured", times, opts.hematocrit, cb)
        prov["aif"] = (
            f"measured: sphere {opts.aif_sphere.centre_mm} r {opts.aif_sphere.radius_mm} mm ({len(arows)} voxels)"
        )
    else:
        aif = dce_mapping.make_aif("parker", times, opts.hematocrit)
        prov["aif"] = "Parker 2006 population AIF"
    delay_range = (0.0, float(times[min(nb + 1, times.size - 1)]))
    fixed = 0.0 if aif.kind == "measured" and not opts.fit_delay else None
    result = dce_mapping.fit_dce_maps(
        opts.model,
        conc,
        times,
        aif,
        delay_range=delay_range,
        fit_delay=opts.fit_delay,
        fixed_delay_s=fixed,
        progress=progress,
    )
    prov.update(
        {
            "hematocrit": opts.hematocrit,
            "r1_per_mM_s": opts.r1,
            "baseline_frames": nb,
            "frame_times_s": [round(float(t), 3) for t in times],
            **result.info,
        }
    )
    failed = int((~np.isfinite(result.residual_rms_mM)).sum())
    if failed:
        warnings.append(f"{failed} voxel(s) could not be fitted (no usable concentration curve)")
    out = dict(result.params)
    out.update(semi_quantitative_maps(times, conc, nb))
    if opts.model == "tofts":
        out["vp"] = np.where(np.isfinite(out["ktrans_per_min"]), 0.0, np.nan)
    out["delay_s"] = result.delay_s
    out["residual_rms_mM"] = result.residual_rms_mM
    return out


SEMIQUANT_KEYS = {
    "iAUC60_mM_s": "iauc60_mM_s",
    "time_to_peak_s": "time_to_peak_s",
    "initial_slope_mM_per_s": "initial_slope_mM_per_s",
    "peak_mM": "peak_enhancement_mM",
}


def semi_quantitative_maps(
    times: NDArray[np.float64], conc: NDArray[np.float64], nb: int
) -> dict[str, NDArray[np.float64]]:
    """Model-free maps per voxel with quant.mri.dce_semiquant (its definitions; arrival detected per voxel);
    NaN where a voxel shows no enhancement above its baseline."""
    out = {name: np.full(conc.shape[0], np.nan) for name in SEMIQUANT_KEYS.values()}
    for i, curve in enumerate(conc):
        if not np.all(np.isfinite(curve)):
            continue
        try:
            values = semi_quantitative(times, curve, n_baseline=max(nb, 2))
        except QuantInputError:
            continue
        for key, name in SEMIQUANT_KEYS.items():
            if values.get(key) is not None:
                out[name][i] = float(values[key])
    return out


# --------------------------------------------------------------------------- diffusion
def _fit_diffusion(
    series: MrSeries, model: str, mask: NDArray[np.bool_], warnings: list[str], prov: dict
) -> dict[str, NDArray[np.float64]]:
    b = series.b_values
    if b is None:
        raise MriInputError(
            f"{model} needs b-values: none found in (0018,9087), the Siemens CSA, GE or Philips tags"
        )
    distinct = np.unique(np.round(b, 3))
    if distinct.size < 2:
        raise MriInputError(
            f"{model} needs several b-values: the series has a single b-value (b = {distinct[0]:g})"
        )
    sig = series.data[mask].astype(float)
    if model == "ivim":
        res = diffusion_maps.fit_ivim_maps(b, sig)
        names = diffusion_maps.IVIM_FLAGS
    else:
        res = diffusion_maps.fit_dki_maps(b, sig)
        names = diffusion_maps.DKI_FLAGS
    for code, count in zip(*np.unique(res.flags, return_counts=True)):
        if code:
            warnings.append(f"{int(count)} voxel(s) flagged: {names[int(code)]}")
    prov["b_values"] = [float(v) for v in b]
    out = dict(res.params)
    out["quality_flag"] = res.flags.astype(float)
    out["residual_rms"] = res.residual_rms
    return out
