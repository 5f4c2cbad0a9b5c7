"""Pure helpers for MRI uploads: curve CSVs, NIfTI bytes, ROI statistics and PNG slice previews.

No Django imports. Every refusal is a MriInputError with one readable line.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from quant.errors import MriInputError

CURVE_COLUMNS = {
    "dce": ("t_s", "ct_mM", "cp_mM"),
    "ivim": ("b_s_mm2", "signal"),
    "dki": ("b_s_mm2", "signal"),
}
AIF_COLUMNS = ("t_s", "cp_mM")


def parse_csv_columns(data: bytes, columns: Sequence[str], what: str = "CSV") -> dict[str, np.ndarray]:
    """Numeric columns of a CSV with a header row; extra columns are ignored."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MriInputError(f"{what} is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in columns if c not in header]
    if missing:
        raise MriInputError(
            f"{what} needs columns {', '.join(columns)}; missing {', '.join(missing)} (found {', '.join(header) or 'none'})"
        )
    values: dict[str, list[float]] = {c: [] for c in columns}
    for line_no, row in enumerate(reader, start=2):
        row = {(k or "").strip(): v for k, v in row.items()}
        for c in columns:
            try:
                values[c].append(float(row[c]))
            except (TypeError, ValueError) as exc:
                raise MriInputError(f"{what} line {line_no}: {c} = {row.get(c)!r} is not a number") from exc
    out = {c: np.asarray(v, dtype=float) for c, v in values.items()}
    if len(out[columns[0]]) < 3:
        raise MriInputError(f"{what} has fewer than 3 data rows")
    return out


def parse_curve(data: bytes, kind: str) -> dict[str, np.ndarray]:
    """A DCE curve (t_s, ct_mM, cp_mM) or a diffusion curve (b_s_mm2, signal)."""
    if kind not in CURVE_COLUMNS:
        raise MriInputError(f"unknown curve kind {kind!r}")
    return parse_csv_columns(data, CURVE_COLUMNS[kind], what=f"{kind.upper()} curve CSV")


def load_nifti(data: bytes, what: str = "NIfTI file") -> tuple[np.ndarray, tuple[float, ...], Any]:
    """Array, voxel sizes (array-axis order) and affine of a .nii or .nii.gz given as bytes."""
    import nibabel as nib

    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except OSError as exc:
            raise MriInputError(f"{what} is not a readable gzip file") from exc
    try:
        img = nib.Nifti1Image.from_bytes(data)
    except Exception as exc:  # nibabel raises several types for junk
        raise MriInputError(f"{what} is not a NIfTI-1 image") from exc
    arr = np.asarray(img.dataobj)
    zooms = tuple(float(z) for z in img.header.get_zooms())
    return arr, zooms, img.affine


def nifti_bytes(array: np.ndarray, affine: Any) -> bytes:
    """Encode a float32 NIfTI-1 image (uncompressed) as bytes."""
    import nibabel as nib

    img = nib.Nifti1Image(np.asarray(array, dtype=np.float32), affine)
    return img.to_bytes()


def check_dynamic(dyn: np.ndarray, mask: np.ndarray) -> None:
    if dyn.ndim != 4:
        raise MriInputError(f"dynamic series must be 4D (x, y, z, t), got {dyn.ndim}D")
    if mask.ndim != 3:
        raise MriInputError(f"mask must be 3D, got {mask.ndim}D")
    if dyn.shape[:3] != mask.shape:
        raise MriInputError(f"mask shape {mask.shape} does not match the dynamic series {dyn.shape[:3]}")
    if not np.any(mask > 0):
        raise MriInputError("mask is empty: no voxel is inside the ROI")


def frame_times(zooms: Sequence[float], n_frames: int) -> np.ndarray:
    """Frame times (s) from the 4th NIfTI voxel size (the repetition time of the dynamic)."""
    if len(zooms) < 4 or not zooms[3] > 0:
        raise MriInputError(
            "dynamic series has no frame duration (4th voxel size); upload an AIF CSV with t_s"
        )
    return np.arange(n_frames, dtype=float) * float(zooms[3])


def roi_stats(values: np.ndarray, mask: np.ndarray) -> dict[str, float | int]:
    """Mean, median, SD, IQR and voxel counts of a map inside a mask (NaN voxels counted as failed)."""
    inside = values[mask.astype(bool)]
    ok = inside[np.isfinite(inside)]
    if ok.size == 0:
        return {"n_voxels": int(inside.size), "n_finite": 0}
    q1, med, q3 = np.percentile(ok, [25, 50, 75])
    return {
        "n_voxels": int(inside.size),
        "n_finite": int(ok.size),
        "mean": float(ok.mean()),
        "median": float(med),
        "sd": float(ok.std(ddof=1)) if ok.size > 1 else 0.0,
        "q1": float(q1),
        "q3": float(q3),
    }


def slice_preview_png(values: np.ndarray, mask: np.ndarray, title: str) -> bytes:
    """PNG of the axial slice with the most ROI voxels, map shown inside the ROI with a colour bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = mask.astype(bool)
    k = int(np.argmax(m.reshape(-1, m.shape[-1]).sum(axis=0))) if m.ndim == 3 else 0
    sl = np.where(m[..., k], values[..., k], np.nan).T
    fig, ax = plt.subplots(figsize=(4.2, 3.6), dpi=100)
    im = ax.imshow(sl, origin="lower", cmap="viridis")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(f"{title} (slice {k})", fontsize=9)
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def zyx(array: np.ndarray, zooms: Sequence[float]) -> tuple[np.ndarray, tuple[float, float, float]]:
    """NIfTI (x, y, z) array and voxel sizes as (z, y, x) for the volumetry/texture engines."""
    if array.ndim != 3:
        raise MriInputError(f"expected a 3D image, got {array.ndim}D")
    sz = tuple(float(z) for z in zooms[:3])
    return np.transpose(array, (2, 1, 0)), (sz[2], sz[1], sz[0])
