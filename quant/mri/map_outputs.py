"""Outputs of a voxel-wise map: NIfTI bytes, a DICOM Parametric Map (highdicom) and a PNG preview.

Maps are (x, y, z) arrays on an :class:`~quant.mri.dicom_series.MrSeries` grid; voxels that were not
fitted are NaN in the NIfTI and 0 in the Parametric Map (whose float pixel data carry the values as is,
with a Real World Value Mapping of slope 1 and the parameter's UCUM unit).
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from quant.mri.dicom_series import MrSeries
from quant.mri.io import nifti_bytes
from quant.png import encode_png

TYPE2_PATIENT_STUDY = (
    "PatientBirthDate",
    "PatientSex",
    "StudyTime",
    "StudyDate",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyID",
)
# parameter -> (label, UCUM unit code, unit meaning)
PARAMETERS: dict[str, tuple[str, str, str]] = {
    "ktrans_per_min": ("Ktrans (/min)", "/min", "per minute"),
    "ve": ("ve", "1", "no units"),
    "vp": ("vp", "1", "no units"),
    "kep_per_min": ("kep (/min)", "/min", "per minute"),
    "fp_ml_per_min_per_ml": ("Fp (ml/min/ml)", "mL/min/mL", "milliliter per minute per milliliter"),
    "ps_ml_per_min_per_ml": ("PS (ml/min/ml)", "mL/min/mL", "milliliter per minute per milliliter"),
    "delay_s": ("Bolus arrival (s)", "s", "second"),
    "iauc60_mM_s": ("iAUC60 (mM·s)", "mmol/L.s", "millimole per liter second"),
    "time_to_peak_s": ("Time to peak (s)", "s", "second"),
    "initial_slope_mM_per_s": ("Wash-in slope (mM/s)", "mmol/L/s", "millimole per liter per second"),
    "peak_enhancement_mM": ("Peak enhancement (mM)", "mmol/L", "millimole per liter"),
    "f": ("IVIM f", "1", "no units"),
    "d_mm2_per_s": ("D (mm²/s)", "mm2/s", "square millimeter per second"),
    "dstar_mm2_per_s": ("D* (mm²/s)", "mm2/s", "square millimeter per second"),
    "k": ("Kurtosis K", "1", "no units"),
}


def map_stats(values: NDArray[np.float64]) -> dict[str, float | int | None]:
    """Median, IQR, mean, SD and counts of the finite voxels of a map."""
    ok = values[np.isfinite(values)]
    out: dict[str, float | int | None] = {"n_voxels": int(ok.size)}
    if ok.size:
        out["display_min"], out["display_max"] = display_window(values)
        q1, med, q3 = np.percentile(ok, [25, 50, 75])
        out.update(
            {
                "median": float(med),
                "q1": float(q1),
                "q3": float(q3),
                "mean": float(ok.mean()),
                "sd": float(ok.std()),
            }
        )
    return out


def to_nifti(values: NDArray[np.float64], series: MrSeries) -> bytes:
    return nifti_bytes(values, series.nifti_affine())


# Viridis anchor colours (matplotlib's map sampled at 0, 1/8, ..., 1), interpolated linearly.
VIRIDIS = np.array(
    [
        [68, 1, 84],
        [72, 36, 117],
        [65, 68, 135],
        [53, 95, 141],
        [42, 120, 142],
        [33, 145, 140],
        [34, 168, 132],
        [68, 191, 112],
        [122, 209, 81],
        [189, 223, 38],
        [253, 231, 37],
    ],
    dtype=float,
)


def display_window(values: NDArray[np.float64]) -> tuple[float, float]:
    """2nd-98th percentile of the finite voxels; a near-constant map gets +-5 % around its value."""
    ok = values[np.isfinite(values)]
    lo, hi = (float(v) for v in np.percentile(ok, [2, 98])) if ok.size else (0.0, 1.0)
    if hi - lo < 0.02 * max(abs(hi), abs(lo), 1e-12):
        mid = 0.5 * (hi + lo)
        half = 0.05 * max(abs(mid), 1e-12)
        lo, hi = mid - half, mid + half
    return lo, hi


def _viridis(x: NDArray[np.float64]) -> NDArray[np.uint8]:
    pos = np.clip(x, 0.0, 1.0) * (len(VIRIDIS) - 1)
    i = np.minimum(pos.astype(int), len(VIRIDIS) - 2)
    w = (pos - i)[..., None]
    return np.rint(VIRIDIS[i] * (1 - w) + VIRIDIS[i + 1] * w).astype(np.uint8)


def preview_png(values: NDArray[np.float64], background: NDArray[np.float64], title: str = "") -> bytes:
    """PNG of the slice with the most fitted voxels: the map (viridis, window of display_window) over the
    grey anatomical background where not fitted, with a colour bar on the right (maximum at the top)."""
    finite = np.isfinite(values)
    k = int(np.argmax(finite.sum(axis=(0, 1))))
    lo, hi = display_window(values)
    sl = values[:, :, k].T  # rows = y, columns = x
    bg = background[:, :, k].T.astype(float)
    bmax = float(np.nanmax(bg)) if np.isfinite(bg).any() and np.nanmax(bg) > 0 else 1.0
    grey = np.repeat(np.clip(np.nan_to_num(bg / bmax) * 255, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    rgb = np.where(np.isfinite(sl)[..., None], _viridis((np.nan_to_num(sl) - lo) / (hi - lo)), grey)
    scale = max(1, int(np.ceil(240 / max(rgb.shape[1], 1))))
    img = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    bar = _viridis(np.linspace(1.0, 0.0, img.shape[0]))[:, None, :].repeat(16, axis=1)
    gap = np.full((img.shape[0], 6, 3), 255, dtype=np.uint8)
    return encode_png(np.concatenate([img, gap, bar], axis=1))


def parametric_map(
    values: NDArray[np.float64],
    parameter: str,
    series: MrSeries,
    source: Any,
    provenance: dict,
    series_number: int = 900,
) -> bytes:
    """A DICOM Parametric Map (float pixel data) of one parameter on the series grid, as Part 10 bytes."""
    import highdicom as hd
    from pydicom.filebase import DicomBytesIO

    label, unit, meaning = PARAMETERS.get(parameter, (parameter, "1", "no units"))
    frames = np.nan_to_num(np.transpose(values, (2, 1, 0)), nan=0.0).astype(np.float32)  # (z, rows, cols)
    finite = values[np.isfinite(values)]
    vrange = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if vrange[0] == vrange[1]:
        vrange = (vrange[0], vrange[0] + 1.0)
    mapping = hd.pm.RealWorldValueMapping(
        lut_label=parameter[:16],
        lut_explanation=label[:64],
        unit=hd.sr.CodedConcept(value=unit, scheme_designator="UCUM", meaning=meaning),
        value_range=vrange,
        slope=1.0,
        intercept=0.0,
    )
    affine = series.affine
    positions = [
        hd.PlanePositionSequence(
            hd.CoordinateSystemNames.PATIENT, (affine @ np.array([0, 0, k, 1.0]))[:3].tolist()
        )
        for k in range(values.shape[2])
    ]
    source = copy.deepcopy(source)
    for keyword in TYPE2_PATIENT_STUDY:
        if keyword not in source:
            setattr(source, keyword, "")
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", UserWarning
        )  # single-component PatientName (the study id) is intended
        pm = _build(
            hd,
            source,
            frames,
            mapping,
            provenance,
            label,
            parameter,
            series_number,
            affine,
            vrange,
            positions,
        )
    buf = DicomBytesIO()
    pm.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _build(
    hd: Any,
    source: Any,
    frames: Any,
    mapping: Any,
    provenance: dict,
    label: str,
    parameter: str,
    series_number: int,
    affine: Any,
    vrange: tuple,
    positions: list,
) -> Any:
    from pydicom.uid import generate_uid

    spacing_x, spacing_y = float(np.linalg.norm(affine[:3, 0])), float(np.linalg.norm(affine[:3, 1]))
    row_dir, col_dir = affine[:3, 0] / spacing_x, affine[:3, 1] / spacing_y
    return hd.pm.ParametricMap(
        source_images=[source],
        pixel_array=frames,
        series_instance_uid=generate_uid(),
        series_number=series_number,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="CD8-PET trial data manager",
        manufacturer_model_name="quant.mri",
        software_versions=str(provenance.get("engine", "quant.mri")),
        device_serial_number="none",
        contains_recognizable_visual_features=False,
        real_world_value_mappings=[mapping],
        voi_lut_transformations=[
            hd.VOILUTTransformation(
                window_center=float(np.mean(vrange)), window_width=float(vrange[1] - vrange[0])
            )
        ],
        content_description=f"{label}; model {provenance.get('model', '')}"[:64],
        content_label=parameter.upper().replace("_", "")[:16],
        pixel_measures=hd.PixelMeasuresSequence(
            pixel_spacing=(spacing_y, spacing_x), slice_thickness=float(np.linalg.norm(affine[:3, 2]))
        ),
        plane_orientation=hd.PlaneOrientationSequence(
            hd.CoordinateSystemNames.PATIENT, [*row_dir.tolist(), *col_dir.tolist()]
        ),
        plane_positions=positions,
    )
