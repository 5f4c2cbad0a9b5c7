"""The CT of a PET/CT phantom (quant.pet.phantom): the same patient, study and frame of reference, on a finer grid
that covers the PET's field of view, for the demo's fused viewer and tests.

Anatomy in Hounsfield units, placed on the PET phantom's own body and regions: air outside an elliptic body of
soft tissue (40 HU) with a subcutaneous fat rim (-100 HU), a spine (bone, 700 HU) behind the body's centre, lungs
(-850 HU) in the cranial third away from the regions, and each PET region (liver, spleen, blood pool, lesions, ...)
a sphere of its own HU. Stored as uint16 with RescaleIntercept -1024, as scanners write CT.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from quant.pet.phantom import IDENTIFIERS, PhantomInfo

AIR_HU, FAT_HU, SOFT_TISSUE_HU, LUNG_HU, BONE_HU = -1000.0, -100.0, 40.0, -850.0, 700.0
REGION_HU = {"liver": 60.0, "spleen": 48.0, "blood_pool": 42.0, "muscle": 52.0}
LESION_HU = 35.0
FAT_RIM_MM = 12.0


@dataclass
class CtPhantom:
    files: list[str]
    hu: np.ndarray  # (z, y, x)
    origin: np.ndarray  # LPS mm of voxel (0, 0, 0)
    spacing: tuple[float, float, float]  # x, y, z mm
    series_uid: str


def _axes(pet: PhantomInfo, spacing: tuple[float, float, float]) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Origin and shape of a grid at `spacing` covering the PET's voxels (their edges included)."""
    pet_spacing = np.array(pet.spacing, dtype=float)
    low = pet.origin - pet_spacing / 2
    extent = np.array(pet.shape[::-1], dtype=float) * pet_spacing
    step = np.array(spacing, dtype=float)
    shape_xyz = np.floor(extent / step).astype(int)
    origin = low + step / 2
    return origin, (int(shape_xyz[2]), int(shape_xyz[1]), int(shape_xyz[0]))


def ct_volume(
    pet: PhantomInfo, spacing: tuple[float, float, float] = (2.0, 2.0, 2.0)
) -> tuple[np.ndarray, np.ndarray]:
    """(HU volume (z, y, x), origin LPS mm) of the phantom's CT on a grid covering the PET's field of view."""
    origin, (nz, ny, nx) = _axes(pet, spacing)
    x = (origin[0] + np.arange(nx) * spacing[0])[None, None, :]
    y = (origin[1] + np.arange(ny) * spacing[1])[None, :, None]
    z = (origin[2] + np.arange(nz) * spacing[2])[:, None, None]
    pet_nz, pet_ny, pet_nx = pet.shape
    centre = pet.origin + (np.array([pet_nx, pet_ny, pet_nz]) - 1) * np.array(pet.spacing) / 2
    half_x, half_y = (pet_nx - 1) * pet.spacing[0] / 2, (pet_ny - 1) * pet.spacing[1] / 2
    ax, ay = 0.92 * half_x, 0.8 * half_y  # the PET phantom's body (quant.pet.phantom._truth)
    radial = ((x - centre[0]) / ax) ** 2 + ((y - centre[1]) / ay) ** 2
    inner = ((x - centre[0]) / (ax - FAT_RIM_MM)) ** 2 + ((y - centre[1]) / (ay - FAT_RIM_MM)) ** 2
    hu = np.full((nz, ny, nx), AIR_HU, dtype=np.float32)
    hu[np.broadcast_to(radial <= 1.0, hu.shape)] = FAT_HU
    hu[np.broadcast_to(inner <= 1.0, hu.shape)] = SOFT_TISSUE_HU
    spine = (x - centre[0]) ** 2 + (y - (centre[1] + 0.75 * ay)) ** 2 <= 12.0**2  # behind the blood pool
    hu[np.broadcast_to(spine, hu.shape)] = BONE_HU
    cranial = z >= pet.origin[2] + (pet_nz - 1) * pet.spacing[2] * 2 / 3
    for side in (
        -1.0,
        1.0,
    ):  # lungs: ellipsoids either side of the spine, cranial third, clear of every region
        lung = ((x - centre[0] - side * 0.45 * ax) / (0.3 * ax)) ** 2 + (
            (y - centre[1]) / (0.55 * ay)
        ) ** 2 <= 1
        hu[np.broadcast_to(lung & cranial, hu.shape) & (hu == SOFT_TISSUE_HU)] = LUNG_HU
    for region in pet.lesions:  # its lesions, organs, liver and blood pool
        d2 = (x - region.centre_mm[0]) ** 2 + (y - region.centre_mm[1]) ** 2 + (z - region.centre_mm[2]) ** 2
        hu[d2 <= region.radius_mm**2] = REGION_HU.get(region.name, LESION_HU)
    return hu, origin


def write_ct_phantom(
    out_dir: str | Path,
    pet: PhantomInfo,
    spacing: tuple[float, float, float] = (2.0, 2.0, 2.0),
) -> CtPhantom:
    """Write the CT of the PET/CT phantom `pet` (its identifiers, study and frame of reference) to `out_dir`."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    hu, origin = ct_volume(pet, spacing)
    series_uid = generate_uid()
    files = []
    for k in range(hu.shape[0]):
        ds = _slice(pet, hu[k], origin, spacing, k, series_uid)
        path = directory / f"CT_{k:04d}.dcm"
        ds.save_as(str(path), enforce_file_format=True)
        files.append(str(path))
    return CtPhantom(files=files, hu=hu, origin=origin, spacing=spacing, series_uid=series_uid)


def _slice(
    pet: PhantomInfo,
    plane: np.ndarray,
    origin: np.ndarray,
    spacing: tuple[float, float, float],
    k: int,
    series: str,
) -> Dataset:
    ds = Dataset()
    for keyword, value in IDENTIFIERS.items():
        setattr(ds, keyword, value)
    sop = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = pet.uids["study"], series
    ds.FrameOfReferenceUID = pet.uids["frame"]
    ds.Modality, ds.SeriesDescription = "CT", "CT WB low dose (attenuation correction)"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.BurnedInAnnotation = "NO"
    start = pet.reference_datetime
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = start.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = start.strftime("%H%M%S")
    ds.InstanceNumber = k + 1
    position = origin + np.array([0.0, 0.0, k * spacing[2]])
    ds.ImagePositionPatient = [f"{v:.4f}" for v in position]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [f"{spacing[1]:g}", f"{spacing[0]:g}"]  # row spacing (y), column spacing (x)
    ds.SliceThickness = f"{spacing[2]:g}"
    ds.KVP = "120"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = plane.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
    ds.PixelData = (np.rint(plane) + 1024).astype(np.uint16).tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    return ds
