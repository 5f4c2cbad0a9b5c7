"""Thin adapters between the Django side and the pure PET modules (no Django imports).

De-identification is quant.dicom.deid (PS3.15 Annex E basic profile with the Retain Longitudinal Temporal,
Retain Patient Characteristics and Retain Safe Private options). `render_mip` chooses the SUV
window for quant.pet.mip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from quant.dicom import deid
from quant.pet import mip


@dataclass
class DeidOutcome:
    paths: list[Path]
    profile: dict


def deidentify_dataset(ds: Dataset, *, study_id: str, key: str) -> Dataset:
    """A de-identified copy (quant.dicom.deid) with the trial's options (basic profile + temporal + characteristics + safe private)."""
    return deid.deidentify(ds, study_id, study_id, key.encode(), deid.DeidOptions())


def deidentify_files(paths: list[Path], out_dir: Path, *, study_id: str, key: str) -> DeidOutcome:
    """Write de-identified copies of `paths` into `out_dir` (same order)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, path in enumerate(paths):
        target = out_dir / f"{index:06d}.dcm"
        deid.deidentify_file(str(path), str(target), study_id, study_id, key.encode(), deid.DeidOptions())
        written.append(target)
    profile = {
        "method": deid.DEIDENTIFICATION_METHOD,
        "options": [
            "basic",
            "retain longitudinal temporal",
            "retain patient characteristics",
            "retain safe private",
        ],
        "uid_scheme": "2.25 from HMAC-SHA256 per participant",
    }
    return DeidOutcome(written, profile)


def render_mip(suv: np.ndarray, spacing: tuple[float, float, float]) -> tuple[bytes, dict]:
    """Coronal MIP PNG (quant.pet.mip) windowed SUV 0 to the 99.5th percentile of the projection (at least 2),
    enlarged so that its longer side is at least mip.MIN_LONG_SIDE_PX."""
    projection = np.max(suv, axis=1)
    high = max(2.0, float(np.ceil(np.percentile(projection, 99.5))))
    upscale = mip.mip_upscale(suv.shape, spacing)
    png = mip.coronal_mip_png(suv, spacing, suv_window=(0.0, high), upscale=upscale)
    return png, {
        "min": 0.0,
        "max": high,
        "upscale": upscale,
        "projection": "coronal, max over anterior-posterior, head up, patient's right on the left",
    }
