"""IBSI 1 digital phantom: load phantom, mask and reference table; compare with the stated tolerance."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nibabel as nib
import numpy as np

from quant.radiomics.texture import Discretisation, TextureSettings, compute_features

DATA = Path(__file__).resolve().parents[2] / "data" / "ibsi1"
SIGNIFICANT_DIGITS = 3


@dataclass(frozen=True)
class ReferenceRow:
    tag: str
    value: float | None
    tolerance: float | None


def load_reference(path: Path = DATA / "ibsi_1_dig_phantom.csv") -> list[ReferenceRow]:
    """Rows of the semicolon-separated `value;tolerance;tag` reference table (blank value -> None)."""
    with path.open(newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        next(reader)
        return [
            ReferenceRow(tag, float(v) if v else None, float(t) if t else None) for v, t, tag in reader if tag
        ]


def load_nifti_zyx(path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    """NIfTI volume as a (z, y, x) array with (dz, dy, dx) spacing."""
    img = nib.load(str(path))
    arr = np.asarray(img.dataobj).transpose(2, 1, 0)
    dx, dy, dz = (float(s) for s in img.header.get_zooms()[:3])
    return arr, (dz, dy, dx)


def matches_reference(value: float, reference: float, tolerance: float | None) -> bool:
    """Within the stated tolerance; tolerance 0 means equal after rounding to 3 significant digits."""
    if not np.isfinite(value):
        return False
    if tolerance:
        return abs(value - reference) <= tolerance
    if reference == 0:
        return abs(value) <= 1e-9
    rounded = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return bool(np.isclose(rounded, reference, rtol=1e-9, atol=0.0))


@cache
def compute_phantom_features() -> dict[str, float]:
    """All our features on the phantom: fixed bin size 1 from the ROI minimum, no resampling."""
    image, spacing = load_nifti_zyx(DATA / "phantom.nii.gz")
    mask, _ = load_nifti_zyx(DATA / "mask.nii.gz")
    settings = TextureSettings(discretisation=Discretisation(method="fbs", bin_width=1.0))
    return compute_features(image, mask > 0, spacing, settings).features
