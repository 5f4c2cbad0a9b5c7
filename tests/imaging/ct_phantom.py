"""A small CT series written with pydicom on a given frame of reference (the CT of a PET/CT phantom): air around a
soft-tissue cylinder (40 HU) holding a bone-like cube of known HU at known voxels. Stored as uint16 with
RescaleIntercept -1024 so that reading it must apply the rescale to give HU. The grid differs from the PET's
(x 3.5 mm, y 3.25 mm, z 3 mm) so that a transposed or PET-grid affine is caught."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from quant.pet.phantom import IDENTIFIERS

CT_SPACING = (3.5, 3.25, 3.0)  # x (along a row), y (down a column), z
CT_SHAPE = (18, 52, 48)  # z, y, x
CUBE_HU = 700.0
BODY_HU = 40.0
AIR_HU = -1000.0
CUBE = (slice(7, 11), slice(30, 36), slice(10, 16))  # z, y, x voxels of the cube


@dataclass
class CtInfo:
    files: list[Path]
    origin: np.ndarray  # LPS mm of voxel (0, 0, 0)
    hu: np.ndarray  # (z, y, x)
    uids: dict[str, str]
    sop_uids: list[str]

    @property
    def affine_lps(self) -> np.ndarray:
        sx, sy, sz = CT_SPACING
        affine = np.diag([sx, sy, sz, 1.0])
        affine[:3, 3] = self.origin
        return affine

    def cube_centre_lps(self) -> np.ndarray:
        index = np.array([(s.start + s.stop - 1) / 2 for s in (CUBE[2], CUBE[1], CUBE[0])])  # x, y, z
        return self.origin + index * np.array(CT_SPACING)


def write_ct(directory: Path, *, pet_origin: np.ndarray, frame_uid: str, study_uid: str) -> CtInfo:
    """Write the CT beside a PET phantom whose voxel (0, 0, 0) lies at `pet_origin` (LPS mm)."""
    directory.mkdir(parents=True, exist_ok=True)
    origin = np.asarray(pet_origin, dtype=float) + np.array([-6.0, -8.0, -4.5])
    nz, ny, nx = CT_SHAPE
    yy, xx = np.mgrid[0:ny, 0:nx]
    body = ((xx - nx / 2) / (nx * 0.42)) ** 2 + ((yy - ny / 2) / (ny * 0.36)) ** 2 <= 1.0
    hu = np.where(body, BODY_HU, AIR_HU)[None, :, :].repeat(nz, axis=0)
    hu[CUBE] = CUBE_HU
    uids = {"study": study_uid, "series": generate_uid(), "frame": frame_uid}
    files, sops = [], []
    for k in range(nz):
        ds = Dataset()
        for keyword, value in IDENTIFIERS.items():
            setattr(ds, keyword, value)
        sop = generate_uid()
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, uids["series"]
        ds.FrameOfReferenceUID = frame_uid
        ds.Modality, ds.SeriesDescription, ds.StudyDescription = "CT", "CT WB low dose AC", "CD8 PET day 2"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.BurnedInAnnotation = "NO"
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = "20250314"
        ds.StudyTime, ds.SeriesTime, ds.AcquisitionTime = "101500", "101000", "101100"
        ds.PatientSex, ds.PatientAge, ds.PatientWeight = "M", "066Y", "75"
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [f"{origin[0]:g}", f"{origin[1]:g}", f"{origin[2] + k * CT_SPACING[2]:g}"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [f"{CT_SPACING[1]:g}", f"{CT_SPACING[0]:g}"]  # row spacing (y), column spacing (x)
        ds.SliceThickness = f"{CT_SPACING[2]:g}"
        ds.KVP = "120"
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = ny, nx
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
        ds.PixelData = (hu[k] + 1024).astype(np.uint16).tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, sop
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.preamble = b"\x00" * 128
        path = directory / f"CT_{k:04d}.dcm"
        ds.save_as(str(path), enforce_file_format=True)
        files.append(path)
        sops.append(sop)
    return CtInfo(files=files, origin=origin, hu=hu, uids=uids, sop_uids=sops)
