"""Analytic phantoms for the MRI upload tests: curves and 4D series generated from known parameters."""

from __future__ import annotations

import io

import nibabel as nib
import numpy as np

from quant.mri.aif import parker_plasma_mM
from quant.mri.dce_models import extended_tofts
from quant.mri.ivim import ivim_signal

T_S = np.arange(0, 300, 4.0)  # 75 frames, 4 s
DELAY_S = 20.0
TRUE = {"ktrans": 0.25, "ve": 0.40, "vp": 0.05}


def dce_curve_csv() -> bytes:
    cp = parker_plasma_mM(T_S, delay_s=DELAY_S)
    ct = extended_tofts(T_S / 60.0, cp, TRUE["ktrans"], TRUE["ve"], TRUE["vp"])
    lines = ["t_s,ct_mM,cp_mM"] + [f"{t:g},{c:.8f},{a:.8f}" for t, c, a in zip(T_S, ct, cp)]
    return ("\n".join(lines) + "\n").encode()


B = np.array([0, 10, 20, 50, 100, 200, 400, 600, 800, 1000.0])
IVIM = {"f": 0.12, "dstar": 0.03, "d": 0.0011}


def ivim_curve_csv() -> bytes:
    s = ivim_signal(B, 1000.0, IVIM["f"], IVIM["dstar"], IVIM["d"])
    return ("b_s_mm2,signal\n" + "".join(f"{b:g},{v:.6f}\n" for b, v in zip(B, s))).encode()


def dynamic_phantom() -> tuple[bytes, bytes, bytes, np.ndarray]:
    """4D NIfTI (6x6x2x75) with two Ktrans regions, a mask, the AIF CSV, and the true Ktrans map."""
    cp = parker_plasma_mM(T_S, delay_s=DELAY_S)
    shape = (6, 6, 2)
    ktrans = np.full(shape, 0.1)
    ktrans[3:, :, :] = 0.3
    mask = np.zeros(shape, dtype=np.uint8)
    mask[1:5, 1:5, :] = 1
    dyn = np.zeros(shape + (T_S.size,), dtype=np.float32)
    for idx in np.ndindex(shape):
        dyn[idx] = extended_tofts(T_S / 60.0, cp, ktrans[idx], TRUE["ve"], TRUE["vp"])
    affine = np.diag([2.0, 2.0, 5.0, 1.0])
    img = nib.Nifti1Image(dyn, affine)
    img.header.set_zooms((2.0, 2.0, 5.0, 4.0))
    aif = ("t_s,cp_mM\n" + "".join(f"{t:g},{c:.8f}\n" for t, c in zip(T_S, cp))).encode()
    return img.to_bytes(), nib.Nifti1Image(mask, affine).to_bytes(), aif, ktrans


def sphere_mask(radius_mm: float, spacing: tuple[float, float, float], n: int = 40) -> tuple[bytes, float]:
    """NIfTI mask of a sphere and its analytic volume (mm3)."""
    grid = np.indices((n, n, n)).astype(float)
    c = (n - 1) / 2.0
    r2 = sum(((grid[i] - c) * spacing[i]) ** 2 for i in range(3))
    mask = (r2 <= radius_mm**2).astype(np.uint8)
    img = nib.Nifti1Image(mask, np.diag([*spacing, 1.0]))
    return img.to_bytes(), 4.0 / 3.0 * np.pi * radius_mm**3


def gz(data: bytes) -> bytes:
    import gzip

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as fh:
        fh.write(data)
    return buf.getvalue()
