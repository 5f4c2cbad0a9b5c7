"""Synthetic MR DICOM series with known voxel parameters: DCE (SPGR), variable flip angle T1, IVIM and DKI.

Written as classic single-frame MR Image Storage files (one per slice and volume) or as one Enhanced MR
Image Storage object (per-frame functional groups). The truth is computed on a fine time grid (0.1 s)
with the validated forward models (quant.mri.dce_models, the Parker 2006 AIF shifted by ``delay_s``),
converted to SPGR signal with R1 = 1/T10 + r1 C, and stored as uint16 with a rescale slope.
Geometry: axial slices, 2 mm pixels, 3 mm slices, origin ``ORIGIN`` (LPS mm), so voxel (i, j, k) sits at
ORIGIN + (2 i, 2 j, 3 k).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from quant.mri.aif import parker_plasma_mM
from quant.mri.dce import spgr_signal
from quant.mri.dce_models import conv_exp, two_cxm_exponentials

MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
ORIGIN = np.array([-6.0, -4.0, 20.0])
SPACING = (2.0, 2.0, 3.0)
FINE_DT_S = 0.1
START = dt.datetime(2026, 3, 2, 10, 0, 0, tzinfo=dt.UTC)


@dataclass
class SeriesSpec:
    """What to write: volumes (x, y, z, n) plus per-volume attributes."""

    volumes: np.ndarray
    description: str
    times_s: np.ndarray | None = None
    b_values: np.ndarray | None = None
    flips_deg: np.ndarray | None = None
    tr_ms: float | None = None
    flip_deg: float | None = None
    extra: dict = field(default_factory=dict)


def voxel_centre_mm(i: float, j: float, k: float) -> np.ndarray:
    """Patient (LPS) coordinates of voxel (i, j, k) of the generated grid."""
    return ORIGIN + np.array([SPACING[0] * i, SPACING[1] * j, SPACING[2] * k])


def tissue_concentration(
    model: str, params: dict[str, np.ndarray], times_s: np.ndarray, delay_s: float, hct: float
) -> np.ndarray:
    """Tissue concentration (..., T) on the frame times, computed on a 0.1 s grid (exact convolution)."""
    fine = np.arange(0.0, times_s[-1] + FINE_DT_S / 2, FINE_DT_S)
    cp = parker_plasma_mM(fine, delay_s=delay_s, hct=hct)
    t_min = fine / 60.0
    shape = next(iter(params.values())).shape
    out = np.zeros(shape + (times_s.size,))
    for idx in np.ndindex(shape):
        p = {k: float(v[idx]) for k, v in params.items()}
        if model in ("tofts", "extended_tofts"):
            c = (
                p["ktrans_per_min"] * conv_exp(t_min, cp, p["ktrans_per_min"] / p["ve"])
                + p.get("vp", 0.0) * cp
            )
        elif model == "2cxm":
            (a1, a2), (s1, s2) = two_cxm_exponentials(
                100 * p["fp_per_min"], p["ps_per_min"], p["ve"], p["vp"]
            )
            c = a1 * conv_exp(t_min, cp, s1) + a2 * conv_exp(t_min, cp, s2)
        elif model == "blood":
            c = cp * (1 - hct)
        else:
            raise ValueError(f"unknown model {model}")
        out[idx] = np.interp(times_s, fine, c)
    return out


def dce_spec(
    model: str,
    params: dict[str, np.ndarray],
    *,
    t10_s: np.ndarray,
    times_s: np.ndarray,
    delay_s: float,
    tr_ms: float = 4.0,
    flip_deg: float = 15.0,
    r1: float = 4.5,
    hct: float = 0.45,
    m0: float = 1000.0,
    vessel: np.ndarray | None = None,
) -> SeriesSpec:
    """SPGR signal of a DCE series; voxels where ``vessel`` is true hold whole blood (Parker Cb)."""
    conc = tissue_concentration(model, params, times_s, delay_s, hct)
    if vessel is not None:
        blood = tissue_concentration("blood", {"x": np.zeros(1)}, times_s, delay_s, hct)[0]
        conc[vessel] = blood
    r1_map = 1.0 / t10_s[..., None] + r1 * conc
    signal = spgr_signal(m0, r1_map, tr_ms / 1000.0, flip_deg)
    return SeriesSpec(signal, f"DCE {model}", times_s=times_s, tr_ms=tr_ms, flip_deg=flip_deg)


def vfa_spec(
    t10_s: np.ndarray,
    flips_deg: tuple[float, ...] = (2.0, 5.0, 10.0, 15.0, 20.0),
    tr_ms: float = 4.0,
    m0: float = 1000.0,
) -> SeriesSpec:
    """Variable flip angle SPGR series (one volume per flip angle)."""
    vols = np.stack([spgr_signal(m0, 1.0 / t10_s, tr_ms / 1000.0, a) for a in flips_deg], axis=-1)
    return SeriesSpec(vols, "VFA T1", flips_deg=np.array(flips_deg), tr_ms=tr_ms)


def ivim_spec(
    s0: np.ndarray, f: np.ndarray, d: np.ndarray, dstar: np.ndarray, b_values: np.ndarray
) -> SeriesSpec:
    b = np.asarray(b_values, dtype=float)
    sig = s0[..., None] * (
        f[..., None] * np.exp(-b * dstar[..., None]) + (1 - f[..., None]) * np.exp(-b * d[..., None])
    )
    return SeriesSpec(sig, "DWI IVIM", b_values=b, tr_ms=3000.0, flip_deg=90.0)


def dki_spec(s0: np.ndarray, d: np.ndarray, k: np.ndarray, b_values: np.ndarray) -> SeriesSpec:
    b = np.asarray(b_values, dtype=float)
    dd = d[..., None]
    sig = s0[..., None] * np.exp(-b * dd + b**2 * dd**2 * k[..., None] / 6.0)
    return SeriesSpec(sig, "DWI DKI", b_values=b, tr_ms=3000.0, flip_deg=90.0)


def add_rician_noise(spec: SeriesSpec, sigma: float, seed: int = 0) -> SeriesSpec:
    rng = np.random.default_rng(seed)
    v = spec.volumes
    noisy = np.hypot(v + rng.normal(0, sigma, v.shape), rng.normal(0, sigma, v.shape))
    return SeriesSpec(
        noisy, spec.description, spec.times_s, spec.b_values, spec.flips_deg, spec.tr_ms, spec.flip_deg
    )


# --------------------------------------------------------------------------- writing
def _base(spec: SeriesSpec, series_uid: str, study_uid: str, frame_uid: str, sop_class: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.Modality = "MR"
    ds.PatientName = "PHANTOM^MRI"
    ds.PatientID = "PHANTOM-MRI"
    ds.PatientBirthDate = ds.PatientSex = ds.AccessionNumber = ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.StudyTime = ds.SeriesTime = START.strftime("%H%M%S")
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_uid
    ds.SeriesDescription = spec.description
    ds.SeriesNumber = 1
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = START.strftime("%Y%m%d")
    ds.Manufacturer = "CD8PET phantom"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.Rows, ds.Columns = spec.volumes.shape[1], spec.volumes.shape[0]
    return ds


def _slope(spec: SeriesSpec) -> float:
    peak = float(np.max(spec.volumes))
    return peak / 60000.0 if peak > 0 else 1.0


def _stamp(spec: SeriesSpec, v: int) -> dt.datetime:
    t = float(spec.times_s[v]) if spec.times_s is not None else 0.0
    return START + dt.timedelta(seconds=t)


def write_series(
    spec: SeriesSpec, out_dir: str, *, enhanced: bool = False, vendor_b: str = "standard"
) -> list[str]:
    """Write the series as classic files or one enhanced object; returns the file paths."""
    os.makedirs(out_dir, exist_ok=True)
    uids = (generate_uid(), generate_uid(), generate_uid())
    slope = _slope(spec)
    stored = np.clip(np.rint(spec.volumes / slope), 0, 65535).astype(np.uint16)
    if enhanced:
        return [_write_enhanced(spec, out_dir, uids, slope, stored)]
    return _write_classic(spec, out_dir, uids, slope, stored, vendor_b)


def _write_classic(
    spec: SeriesSpec, out_dir: str, uids: tuple, slope: float, stored: np.ndarray, vendor_b: str
) -> list[str]:
    nx, ny, nz, nv = spec.volumes.shape
    paths = []
    for v in range(nv):
        for k in range(nz):
            ds = _base(spec, uids[0], uids[1], uids[2], MR_STORAGE)
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.InstanceNumber = v * nz + k + 1
            ds.ImageType = ["ORIGINAL", "PRIMARY", "M"]
            ds.ImagePositionPatient = [f"{x:.4f}" for x in voxel_centre_mm(0, 0, k)]
            ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
            ds.PixelSpacing = [str(SPACING[1]), str(SPACING[0])]
            ds.SliceThickness = str(SPACING[2])
            ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}", "0"
            flip = spec.flips_deg[v] if spec.flips_deg is not None else spec.flip_deg
            if spec.tr_ms is not None and flip is not None:
                ds.RepetitionTime, ds.FlipAngle = str(spec.tr_ms), str(flip)
            if spec.times_s is not None:
                ds.TemporalPositionIdentifier = v + 1
                ds.AcquisitionTime = _stamp(spec, v).strftime("%H%M%S.%f")
                ds.TriggerTime = f"{1000 * spec.times_s[v]:.1f}"
            if spec.b_values is not None:
                _classic_b(ds, float(spec.b_values[v]), vendor_b)
            ds.PixelData = np.ascontiguousarray(stored[:, :, k, v].T).tobytes()
            path = os.path.join(out_dir, f"IM_{v:03d}_{k:03d}.dcm")
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


def _classic_b(ds: Dataset, b: float, vendor_b: str) -> None:
    if vendor_b == "philips":
        block = ds.private_block(0x2001, "Philips Imaging DD 001", create=True)
        block.add_new(0x03, "FL", b)
    elif vendor_b == "ge":
        block = ds.private_block(0x0043, "GEMS_PARM_01", create=True)
        block.add_new(0x39, "IS", [str(int(b)), "8", "0", "0"])
    else:
        ds.DiffusionBValue = b
        ds.DiffusionGradientOrientation = [0.0, 0.0, 0.0] if b == 0 else [1.0, 0.0, 0.0]


def _write_enhanced(spec: SeriesSpec, out_dir: str, uids: tuple, slope: float, stored: np.ndarray) -> str:
    nx, ny, nz, nv = spec.volumes.shape
    ds = _base(spec, uids[0], uids[1], uids[2], ENHANCED_MR_STORAGE)
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.NumberOfFrames = nz * nv
    shared = Dataset()
    ori, meas = Dataset(), Dataset()
    ori.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    meas.PixelSpacing = [SPACING[1], SPACING[0]]
    meas.SliceThickness = SPACING[2]
    shared.PlaneOrientationSequence = Sequence([ori])
    shared.PixelMeasuresSequence = Sequence([meas])
    if spec.flips_deg is None and spec.tr_ms is not None:
        timing = Dataset()
        timing.RepetitionTime = spec.tr_ms
        timing.FlipAngle = spec.flip_deg
        shared.MRTimingAndRelatedParametersSequence = Sequence([timing])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames, pixels = [], []
    # Volume-major on disk but slices interleaved in reverse to exercise the reader's placement.
    for v in range(nv):
        for k in reversed(range(nz)):
            frames.append(_enhanced_frame(spec, v, k, slope))
            pixels.append(np.ascontiguousarray(stored[:, :, k, v].T))
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.PixelData = np.stack(pixels).tobytes()
    path = os.path.join(out_dir, "ENHANCED_MR.dcm")
    ds.save_as(path, enforce_file_format=True)
    return path


def _enhanced_frame(spec: SeriesSpec, v: int, k: int, slope: float) -> Dataset:
    item = Dataset()
    pos, content, trans = Dataset(), Dataset(), Dataset()
    pos.ImagePositionPatient = [float(x) for x in voxel_centre_mm(0, 0, k)]
    content.InStackPositionNumber = k + 1
    content.StackID = "1"
    if spec.times_s is not None:
        content.TemporalPositionIndex = v + 1
        content.FrameAcquisitionDateTime = _stamp(spec, v).strftime("%Y%m%d%H%M%S.%f")
    trans.RescaleSlope = slope
    trans.RescaleIntercept = 0.0
    trans.RescaleType = "US"
    item.PlanePositionSequence = Sequence([pos])
    item.FrameContentSequence = Sequence([content])
    item.PixelValueTransformationSequence = Sequence([trans])
    if spec.flips_deg is not None:
        timing = Dataset()
        timing.RepetitionTime = spec.tr_ms
        timing.FlipAngle = float(spec.flips_deg[v])
        item.MRTimingAndRelatedParametersSequence = Sequence([timing])
    if spec.b_values is not None:
        diff = Dataset()
        b = float(spec.b_values[v])
        diff.DiffusionBValue = b
        diff.DiffusionDirectionality = "NONE" if b == 0 else "DIRECTIONAL"
        if b > 0:
            gd = Dataset()
            gd.DiffusionGradientOrientation = [1.0, 0.0, 0.0]
            diff.DiffusionGradientDirectionSequence = Sequence([gd])
        item.MRDiffusionSequence = Sequence([diff])
    return item
