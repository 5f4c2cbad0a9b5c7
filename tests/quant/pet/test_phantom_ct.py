"""The CT of the PET/CT phantom (quant.pet.phantom_ct): read as a CT series it has the PET's frame of reference and
study, covers the PET's field of view on its finer grid, and gives the stated HU where the anatomy was placed."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from quant.dicom.series import read_series
from quant.pet.phantom_ct import (
    AIR_HU,
    BONE_HU,
    LESION_HU,
    REGION_HU,
    SOFT_TISSUE_HU,
    write_ct_phantom,
)
from quant.pet.series import read_pet_series

from .phantoms import small_phantom


@pytest.fixture(scope="module")
def pet_and_ct(tmp_path_factory):
    folder = tmp_path_factory.mktemp("petct")
    pet = small_phantom(folder / "pt")
    ct = write_ct_phantom(folder / "ct", pet)
    return pet, read_pet_series(pet.files), ct, read_series(ct.files, "CT")


def _hu_at(series, point_lps) -> float:
    i, j, k = np.rint(series.geometry.patient_to_index(np.array([point_lps]))[0]).astype(int)
    return float(series.volume[k, j, i])


def test_the_ct_shares_the_pets_frame_study_and_patient(pet_and_ct):
    pet, pet_series, ct, ct_series = pet_and_ct
    assert ct_series.geometry.frame_of_reference_uid == pet_series.geometry.frame_of_reference_uid
    assert ct_series.geometry.spacing == pytest.approx((2.0, 2.0, 2.0))
    assert ct_series.volume.shape == (24, 80, 80)  # the 12 x 40 x 40 PET at 4 mm, on 2 mm voxels
    ds = pydicom.dcmread(ct.files[0], stop_before_pixels=True)
    assert (ds.StudyInstanceUID, ds.FrameOfReferenceUID) == (pet.uids["study"], pet.uids["frame"])
    assert ds.PatientID == pet.identifiers["PatientID"]


def test_the_ct_covers_the_pets_field_of_view(pet_and_ct):
    _pet, pet_series, _ct, ct_series = pet_and_ct

    def box(series):
        nz, ny, nx = series.volume.shape
        corners = np.array([[i, j, k] for i in (0, nx - 1) for j in (0, ny - 1) for k in (0, nz - 1)], float)
        points = series.geometry.index_to_patient(corners)
        half = np.array(series.geometry.spacing) / 2
        return points.min(axis=0) - half, points.max(axis=0) + half

    (pet_low, pet_high), (ct_low, ct_high) = box(pet_series), box(ct_series)
    assert np.allclose(ct_low, pet_low, atol=1e-3) and np.allclose(ct_high, pet_high, atol=1e-3)


def test_the_anatomy_has_its_stated_hu(pet_and_ct):
    pet, _pet_series, _ct, ct_series = pet_and_ct
    by_name = {region.name: region for region in pet.lesions}
    assert _hu_at(ct_series, by_name["liver"].centre_mm) == REGION_HU["liver"]
    assert _hu_at(ct_series, by_name["blood_pool"].centre_mm) == REGION_HU["blood_pool"]
    lesion = next(r for r in pet.lesions if r.name not in REGION_HU)
    assert _hu_at(ct_series, lesion.centre_mm) == LESION_HU
    low = ct_series.geometry.index_to_patient(np.array([[0.0, 0.0, 0.0]]))[0]
    assert _hu_at(ct_series, low) == AIR_HU  # a corner of the field of view: outside the body
    values = set(np.unique(ct_series.volume).tolist())
    assert {SOFT_TISSUE_HU, BONE_HU, AIR_HU} <= values
