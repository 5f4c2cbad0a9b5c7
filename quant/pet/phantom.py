"""Synthetic 89Zr PET series with known SUV, written as real DICOM files (pure Python, no Django).

API
---
``write_phantom(out_dir, spec=PhantomSpec(...)) -> PhantomInfo``
    Writes one single-frame PET file per slice (explicit VR little endian, uncompressed, with
    preamble) and returns what was written: ``files``, ``truth`` (float64 SUVbw volume [z, y, x]
    used to make the pixels), ``suv_bw_factor`` (the factor an engine must find; ``slice_factors``
    per slice for DecayCorrection NONE), ``lesions`` (lesion spheres, then liver and blood pool),
    ``origin``/``spacing``/``shape`` of the grid, ``injection_datetime``/``reference_datetime``,
    ``uids`` (study, series, frame) and ``identifiers`` (the realistic patient identifiers planted
    for de-identification tests).

``PhantomSpec`` fields (all optional):
    shape (nz, ny, nx) = (24, 48, 48); spacing (x, y, z) mm = (4, 4, 4); origin mm;
    weight_kg 75, height_m 1.78, sex "M", dose_bq 37e6 (37 MBq), hours_post_injection 48,
    half_life_s 282276 (89Zr), background_suv 0.5, liver (centre, radius, SUV),
    blood (centre, radius, SUV), lesions: list of ``Lesion(name, centre_mm, radius_mm, suv)``
    (default: three spheres), and the header variant:

    units: "BQML" | "CNTS_SUV" (Philips 7053,1000) | "CNTS_ACT" (Philips 7053,1009) | "GML" | "CM2ML"
    decay_correction: "START" | "ADMIN" | "NONE" (NONE: per-bed acquisition times, 2 beds)
    reference: "series" (SeriesTime = decay reference) | "ge_private" (series time after the
        acquisition, GE 0009,xx0D holds the reference) | "frame_reference" (series time after the
        acquisition, FrameReferenceTime back-computes it) | "missing_series_time"
    injection: "datetime" | "time_only" (RadiopharmaceuticalStartTime only, no date)
        | "midnight" (injection 23:30 the evening before the scan day, datetime given)
    dose_in_mbq: store RadionuclideTotalDose in MBq; weight_in_g: store PatientWeight in grams;
    per_slice_rescale: a different RescaleSlope per slice (default True, int16 storage);
    corrected_image, units_text, modality, series_uid, study_uid, frame_of_reference_uid,
    series_description override the defaults (for hostile-input tests).

    Injection is ``hours_post_injection`` before the scan start (2025-03-14 10:15); 37 MBq, 75 kg.

Voxels take a region's SUV when their centre lies inside the region (sphere: distance <= radius),
so VOI statistics on a matching sphere are known exactly; the body is an elliptic cylinder of
background. Stored values are quantised to int16 per slice: relative error below 1/30000 of the
slice maximum.

Also: ``write_rtstruct(path, series_files, masks, ...)`` writes an RTSTRUCT whose contours are
traced halfway between voxel centres (rasterising by voxel centre gives the same voxels back);
``write_seg(path, series_files, masks)`` writes a DICOM SEG with highdicom;
``write_nifti_mask(path, mask, affine_lps, flip_axes=...)`` writes a NIfTI mask (RAS) that
matches the PET grid, optionally stored with flipped axes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, PositronEmissionTomographyImageStorage, generate_uid

from quant.pet.suv import ZR89_HALF_LIFE_S, average_count_time_s, bsa_dubois_m2

SCAN_START = datetime(2025, 3, 14, 10, 15, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Lesion:
    name: str
    centre_mm: tuple[float, float, float]
    radius_mm: float
    suv: float


@dataclass
class PhantomSpec:
    shape: tuple[int, int, int] = (24, 48, 48)
    spacing: tuple[float, float, float] = (4.0, 4.0, 4.0)
    origin: tuple[float, float, float] | None = None
    weight_kg: float = 75.0
    height_m: float = 1.78
    sex: str = "M"
    dose_bq: float = 37e6
    hours_post_injection: float = 48.0
    half_life_s: float = ZR89_HALF_LIFE_S
    background_suv: float = 0.5
    liver: Lesion | None = None
    blood: Lesion | None = None
    lesions: list[Lesion] | None = None
    units: str = "BQML"
    decay_correction: str = "START"
    reference: str = "series"
    injection: str = "datetime"
    dose_in_mbq: bool = False
    weight_in_g: bool = False
    per_slice_rescale: bool = True
    corrected_image: tuple[str, ...] | None = None
    units_text: str | None = None
    modality: str = "PT"
    series_uid: str | None = None
    study_uid: str | None = None
    frame_of_reference_uid: str | None = None
    series_description: str = "PET WB 89Zr-Df-crefmirlimab 48h"
    frame_duration_s: float = 300.0


@dataclass
class PhantomInfo:
    files: list[str]
    truth: np.ndarray
    suv_bw_factor: float
    lesions: list[Lesion]
    origin: np.ndarray
    spacing: tuple[float, float, float]
    shape: tuple[int, int, int]
    uids: dict[str, str]
    identifiers: dict[str, str]
    injection_datetime: datetime
    reference_datetime: datetime
    slice_factors: np.ndarray = field(default_factory=lambda: np.zeros(0))


IDENTIFIERS = {
    "PatientName": "Kowalczyk^Magdalena^Anna",
    "PatientID": "MRN-00482917",
    "PatientBirthDate": "19580412",
    "OtherPatientIDs": "NHS-9434765919",
    "PatientAddress": "17 Larkspur Crescent, Bristol BS8 1TH",
    "PatientTelephoneNumbers": "+44 117 496 0321",
    "InstitutionName": "St Aldhelm University Hospital",
    "InstitutionAddress": "Marlborough Street, Bristol BS2 8HW",
    "ReferringPhysicianName": "Okonkwo^Chidi",
    "PerformingPhysicianName": "Vasquez^Lucia",
    "OperatorsName": "Thornbury^Gareth",
    "AccessionNumber": "ACC77319204",
    "StationName": "PETCT-ROOM3-AW",
    "DeviceSerialNumber": "SN-4471-0983",
    "StudyID": "PX-2025-0314",
    "RequestingPhysician": "Haddad^Samir",
    "InstitutionalDepartmentName": "Nuclear Medicine Oncology Wing",
    "PhysiciansOfRecord": "Lindqvist^Ingrid",
}


def default_lesions(spec: PhantomSpec, centre: np.ndarray) -> list[Lesion]:
    """Three spheres of different size and uptake around the phantom centre."""
    c = [float(v) for v in centre]
    return [
        Lesion("lesion_a", (c[0] + 30.0, c[1] - 10.0, c[2] + 4.0), 14.0, 8.0),
        Lesion("lesion_b", (c[0] - 8.0, c[1] + 16.0, c[2] - 8.0), 10.0, 5.0),
        Lesion("lesion_c", (c[0] - 8.0, c[1] - 40.0, c[2] + 12.0), 7.0, 12.0),
    ]


def _grid(spec: PhantomSpec) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    nz, ny, nx = spec.shape
    sx, sy, sz = spec.spacing
    origin = np.array(
        spec.origin if spec.origin is not None else (-(nx - 1) * sx / 2, -(ny - 1) * sy / 2, -300.0)
    )
    x = origin[0] + np.arange(nx) * sx
    y = origin[1] + np.arange(ny) * sy
    z = origin[2] + np.arange(nz) * sz
    return origin, (z[:, None, None], y[None, :, None], x[None, None, :])


def sphere_truth(shape, axes, centre, radius) -> np.ndarray:
    """Boolean mask of voxels whose centre lies within ``radius`` of ``centre`` (patient mm)."""
    z, y, x = axes
    d2 = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2
    return np.broadcast_to(d2 <= radius**2 + 1e-9, shape)


def _truth(spec: PhantomSpec) -> tuple[np.ndarray, np.ndarray, list[Lesion], Lesion, Lesion]:
    origin, axes = _grid(spec)
    z, y, x = axes
    nz, ny, nx = spec.shape
    centre = np.array([float(x.mean()), float(y.mean()), float(z.mean())])
    half_x, half_y = (nx - 1) * spec.spacing[0] / 2, (ny - 1) * spec.spacing[1] / 2
    body = ((x - centre[0]) / (0.92 * half_x)) ** 2 + ((y - centre[1]) / (0.8 * half_y)) ** 2 <= 1.0
    truth = np.zeros(spec.shape, dtype=np.float64)
    truth[np.broadcast_to(body, spec.shape)] = spec.background_suv
    liver = spec.liver or Lesion(
        "liver", (centre[0] - 0.5 * half_x, centre[1], centre[2]), 0.22 * half_x, 4.0
    )
    blood = spec.blood or Lesion(
        "blood_pool", (centre[0] + 0.05 * half_x, centre[1] + 0.5 * half_y, centre[2]), 10.0, 6.0
    )
    lesions = spec.lesions if spec.lesions is not None else default_lesions(spec, centre)
    for region in [liver, blood, *lesions]:
        truth[sphere_truth(spec.shape, axes, region.centre_mm, region.radius_mm)] = region.suv
    return truth, origin, lesions, liver, blood


def _times(spec: PhantomSpec) -> tuple[datetime, datetime]:
    """(injection, decay reference = scan start)."""
    reference = SCAN_START
    if spec.injection == "midnight":
        reference = datetime(2025, 3, 15, 0, 30, tzinfo=UTC)
        return reference - timedelta(hours=1), reference
    return reference - timedelta(hours=spec.hours_post_injection), reference


def _da(t: datetime) -> str:
    return t.strftime("%Y%m%d")


def _tm(t: datetime) -> str:
    return t.strftime("%H%M%S.%f")


def _bed_times(spec: PhantomSpec, reference: datetime) -> list[datetime]:
    """Acquisition start per slice: two beds for NONE, one otherwise (minus offsets for time variants)."""
    nz = spec.shape[0]
    if spec.decay_correction == "NONE":
        bed = nz // 2 or 1
        return [reference + timedelta(seconds=spec.frame_duration_s * (k // bed)) for k in range(nz)]
    return [reference] * nz


def _activity_scale(
    spec: PhantomSpec, t_inj: datetime, t_ref: datetime, acq: datetime
) -> tuple[float, float]:
    """(stored value per SUV unit, SUVbw factor per stored unit) for one slice."""
    lam = math.log(2) / spec.half_life_s
    w_g = spec.weight_kg * 1e3
    if spec.units == "GML":
        return 1.0, 1.0
    if spec.units == "CM2ML":
        ratio = bsa_dubois_m2(spec.weight_kg, spec.height_m * 100) * 1e4 / w_g
        return ratio, 1.0 / ratio
    if spec.decay_correction == "START":
        bq_per_suv = spec.dose_bq * 2.0 ** (-(t_ref - t_inj).total_seconds() / spec.half_life_s) / w_g
    elif spec.decay_correction == "ADMIN":
        bq_per_suv = spec.dose_bq / w_g
    else:
        x = lam * spec.frame_duration_s
        bq_per_suv = (
            spec.dose_bq / w_g / ((x / -math.expm1(-x)) * math.exp(lam * (acq - t_inj).total_seconds()))
        )
    if spec.units in ("CNTS_SUV", "CNTS_ACT"):
        bq_per_suv /= PHILIPS_ACTIVITY_FACTOR
    return bq_per_suv, 1.0 / bq_per_suv


PHILIPS_ACTIVITY_FACTOR = 2.5


def _base_dataset(spec: PhantomSpec, uids: dict, t_inj: datetime, t_ref: datetime) -> Dataset:
    ds = Dataset()
    for key, value in IDENTIFIERS.items():
        setattr(ds, key, value)
    ds.PatientSex = spec.sex
    ds.PatientAge = "066Y"
    ds.PatientWeight = f"{spec.weight_kg * 1000:.0f}" if spec.weight_in_g else f"{spec.weight_kg:g}"
    ds.PatientSize = f"{spec.height_m:g}"
    ds.SOPClassUID = PositronEmissionTomographyImageStorage
    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids["series"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.Modality = spec.modality
    ds.Manufacturer = "SyntheticPET"
    ds.ManufacturerModelName = "Phantom-89Zr"
    ds.SeriesDescription = spec.series_description
    ds.StudyDescription = "CD8 PET day 2"
    ds.StudyDate = _da(t_ref)
    ds.StudyTime = _tm(t_ref)
    if spec.reference != "missing_series_time":
        series_dt = t_ref if spec.reference == "series" else t_ref + timedelta(minutes=25)
        ds.SeriesDate = _da(series_dt)
        ds.SeriesTime = _tm(series_dt)
    ds.Units = spec.units_text or {"CNTS_SUV": "CNTS", "CNTS_ACT": "CNTS"}.get(spec.units, spec.units)
    ds.DecayCorrection = spec.decay_correction
    default_corr = ["NORM", "DTIM", "ATTN", "SCAT", "RAN"] + (
        [] if spec.decay_correction == "NONE" else ["DECY"]
    )
    ds.CorrectedImage = list(spec.corrected_image) if spec.corrected_image is not None else default_corr
    if spec.units == "GML":
        ds.SUVType = "BW"
    ds.SeriesType = ["WHOLE BODY", "IMAGE"]
    ds.CountsSource = "EMISSION"
    ds.ReconstructionMethod = "OSEM"
    ds.DecayFactor = "1.0"
    ds.SliceThickness = f"{spec.spacing[2]:g}"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [f"{spec.spacing[1]:g}", f"{spec.spacing[0]:g}"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = spec.shape[1], spec.shape[2]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.NumberOfSlices = spec.shape[0]
    ds.RadiopharmaceuticalInformationSequence = Sequence([_radiopharm(spec, t_inj)])
    return ds


def _radiopharm(spec: PhantomSpec, t_inj: datetime) -> Dataset:
    item = Dataset()
    item.Radiopharmaceutical = "89Zr-Df-crefmirlimab"
    dose = spec.dose_bq / 1e6 if spec.dose_in_mbq else spec.dose_bq
    item.RadionuclideTotalDose = f"{dose:.6g}" if spec.dose_in_mbq else f"{dose:.1f}"
    item.RadionuclideHalfLife = f"{spec.half_life_s:g}"
    item.RadionuclidePositronFraction = "0.227"
    item.RadiopharmaceuticalStartTime = _tm(t_inj)
    if spec.injection != "time_only":
        item.RadiopharmaceuticalStartDateTime = t_inj.strftime("%Y%m%d%H%M%S.%f")
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "C-168A4", "SRT", "^89^Zirconium"
    item.RadionuclideCodeSequence = Sequence([code])
    return item


def _add_private(ds: Dataset, spec: PhantomSpec, suv_factor: float, t_ref: datetime) -> None:
    if spec.units == "CNTS_SUV":
        block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
        block.add_new(0x00, "DS", f"{suv_factor:.10g}")
        block.add_new(0x09, "DS", f"{PHILIPS_ACTIVITY_FACTOR:g}")
    elif spec.units == "CNTS_ACT":
        block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
        block.add_new(0x09, "DS", f"{PHILIPS_ACTIVITY_FACTOR:g}")
    if spec.reference == "ge_private":
        block = ds.private_block(0x0009, "GEMS_PETD_01", create=True)
        block.add_new(0x0D, "DT", t_ref.strftime("%Y%m%d%H%M%S.%f"))
    ds.private_block(0x0019, "SYNTH_SITE_INFO", create=True).add_new(0x01, "LO", IDENTIFIERS["PatientName"])


def write_phantom(out_dir: str, spec: PhantomSpec | None = None) -> PhantomInfo:
    """Write the series; see the module docstring."""
    spec = spec or PhantomSpec()
    os.makedirs(out_dir, exist_ok=True)
    truth, origin, lesions, liver, blood = _truth(spec)
    t_inj, t_ref = _times(spec)
    uids = {
        "study": spec.study_uid or generate_uid(),
        "series": spec.series_uid or generate_uid(),
        "frame": spec.frame_of_reference_uid or generate_uid(),
    }
    acq_times = _bed_times(spec, t_ref)
    if spec.reference in ("ge_private", "frame_reference"):
        acq_times = [t + timedelta(seconds=90) for t in acq_times]
    scales = [_activity_scale(spec, t_inj, t_ref, t) for t in acq_times]
    suv_factors = np.array([s[1] for s in scales])
    base = _base_dataset(spec, uids, t_inj, t_ref)
    files = []
    nz = spec.shape[0]
    for k in range(nz):
        ds = _slice_dataset(
            base, spec, k, origin, truth[k], scales[k][0], acq_times[k], t_ref, suv_factors[k]
        )
        path = os.path.join(out_dir, f"PT_{k:04d}.dcm")
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return PhantomInfo(
        files=files,
        truth=truth,
        suv_bw_factor=float(suv_factors[0]),
        lesions=[*lesions, liver, blood],
        origin=origin,
        spacing=spec.spacing,
        shape=spec.shape,
        uids=uids,
        identifiers=dict(IDENTIFIERS),
        injection_datetime=t_inj,
        reference_datetime=t_ref,
        slice_factors=suv_factors,
    )


def _slice_dataset(base, spec, k, origin, truth_slice, per_suv, acq, t_ref, suv_factor) -> Dataset:
    ds = Dataset()
    ds.update(base)
    sop_uid = generate_uid()
    ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = k + 1
    ds.ImageIndex = k + 1
    ds.ImagePositionPatient = [f"{origin[0]:g}", f"{origin[1]:g}", f"{origin[2] + k * spec.spacing[2]:g}"]
    ds.SliceLocation = f"{origin[2] + k * spec.spacing[2]:g}"
    ds.AcquisitionDate = _da(acq)
    ds.AcquisitionTime = _tm(acq)
    ds.ActualFrameDuration = int(spec.frame_duration_s * 1000)
    t_ave = average_count_time_s(spec.half_life_s, spec.frame_duration_s)
    ds.FrameReferenceTime = f"{((acq - t_ref).total_seconds() + t_ave) * 1000:.3f}"
    stored = truth_slice * per_suv
    peak = float(np.max(np.abs(stored))) or 1.0
    slope = peak / 30000.0 if spec.per_slice_rescale else _global_slope(spec, per_suv)
    ints = np.round(stored / slope).astype(np.int16)
    ds.RescaleSlope = f"{slope:.10g}"
    ds.RescaleIntercept = "0"
    ds.PixelData = ints.tobytes()
    _add_private(ds, spec, suv_factor, t_ref)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = PositronEmissionTomographyImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    return ds


def _global_slope(spec: PhantomSpec, per_suv: float) -> float:
    return 20.0 * per_suv / 30000.0


# ---------------------------------------------------------------- masks as files


def _read_headers(series_files: list[str]) -> list[Dataset]:
    datasets = [pydicom.dcmread(f) for f in series_files]
    if len(datasets) > 1:  # classic slices in z order (one enhanced object: masks follow its frame order)
        datasets.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    return datasets


def write_rtstruct(
    path: str, series_files: list[str], masks: dict[str, np.ndarray], frame_uid: str | None = None
) -> None:
    """RTSTRUCT with one ROI per mask ([z, y, x] on the series grid, axial identity orientation)."""
    from skimage import measure

    datasets = _read_headers(series_files)
    ref = datasets[0]
    dx, dy = float(ref.PixelSpacing[1]), float(ref.PixelSpacing[0])
    ox, oy = float(ref.ImagePositionPatient[0]), float(ref.ImagePositionPatient[1])
    ds = _rt_base(ref, frame_uid)
    rois, contours, observations = Sequence(), Sequence(), Sequence()
    for number, (name, mask) in enumerate(masks.items(), start=1):
        roi = Dataset()
        roi.ROINumber, roi.ROIName = number, name
        roi.ReferencedFrameOfReferenceUID = frame_uid or ref.FrameOfReferenceUID
        roi.ROIGenerationAlgorithm = "AUTOMATIC"
        rois.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ROIDisplayColor = [255, 0, 0]
        item.ContourSequence = Sequence()
        for k, slice_ds in enumerate(datasets):
            if not mask[k].any():
                continue
            z = float(slice_ds.ImagePositionPatient[2])
            padded = np.pad(mask[k].astype(float), 1)
            for contour in measure.find_contours(padded, 0.5):
                rows, cols = contour[:, 0] - 1, contour[:, 1] - 1
                pts = np.column_stack([ox + cols * dx, oy + rows * dy, np.full(len(rows), z)])
                c = Dataset()
                c.ContourGeometricType = "CLOSED_PLANAR"
                c.NumberOfContourPoints = len(pts) - 1
                c.ContourData = [f"{v:.4f}" for v in pts[:-1].ravel()]
                ci = Dataset()
                ci.ReferencedSOPClassUID = slice_ds.SOPClassUID
                ci.ReferencedSOPInstanceUID = slice_ds.SOPInstanceUID
                c.ContourImageSequence = Sequence([ci])
                item.ContourSequence.append(c)
        contours.append(item)
        obs = Dataset()
        obs.ObservationNumber, obs.ReferencedROINumber = number, number
        obs.RTROIInterpretedType, obs.ROIInterpreter = "GTV", ""
        observations.append(obs)
    ds.StructureSetROISequence = rois
    ds.ROIContourSequence = contours
    ds.RTROIObservationsSequence = observations
    ds.save_as(path, enforce_file_format=True)


def _rt_base(ref: Dataset, frame_uid: str | None) -> Dataset:
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTSTRUCT"
    for key in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "StudyTime"):
        setattr(ds, key, ref.get(key, ""))
    ds.SeriesInstanceUID = generate_uid()
    ds.StructureSetLabel = "VOIs"
    ds.StructureSetDate, ds.StructureSetTime = ref.get("StudyDate", ""), ref.get("StudyTime", "")
    frame = Dataset()
    frame.FrameOfReferenceUID = frame_uid or ref.FrameOfReferenceUID
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    return ds


def write_seg(path: str, series_files: list[str], masks: dict[str, np.ndarray]) -> None:
    """DICOM SEG (binary, one segment per mask) referencing the series, via highdicom."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    datasets = _read_headers(series_files)
    descriptions = []
    for number, name in enumerate(masks, start=1):
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=name,
                segmented_property_category=codes.SCT.Tissue,
                segmented_property_type=codes.SCT.Tissue,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            )
        )
    stack = np.stack([m.astype(np.uint8) for m in masks.values()], axis=-1)
    seg = hd.seg.Segmentation(
        source_images=datasets,
        pixel_array=stack,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=99,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="SyntheticPET",
        manufacturer_model_name="Phantom-89Zr",
        software_versions="1",
        device_serial_number="0",
    )
    seg.save_as(path)


def write_nifti_mask(
    path: str, mask: np.ndarray, affine_lps: np.ndarray, flip_axes: tuple[int, ...] = ()
) -> None:
    """NIfTI mask for ``mask`` [z, y, x] on a grid with ``affine_lps`` (x, y, z index -> LPS mm).

    The file is stored in RAS as NIfTI requires; ``flip_axes`` (0=x, 1=y, 2=z) stores those axes
    reversed with the affine adjusted, so the same voxels are described by a different array.
    """
    import nibabel as nib

    data = np.transpose(mask, (2, 1, 0)).astype(np.uint8)  # -> [x, y, z]
    affine = affine_lps.copy()
    for axis in flip_axes:
        data = np.flip(data, axis=axis)
        n = data.shape[axis]
        affine[:3, 3] = affine[:3, 3] + affine[:3, axis] * (n - 1)
        affine[:3, axis] = -affine[:3, axis]
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine
    nib.save(nib.Nifti1Image(np.ascontiguousarray(data), ras), path)
