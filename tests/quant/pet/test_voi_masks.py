"""The same object as sphere, NIfTI (flipped axes), RTSTRUCT and SEG gives the same voxels; mismatches refused."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from quant.pet.phantom import write_nifti_mask, write_rtstruct, write_seg
from quant.pet.series import read_pet_series
from quant.pet.voi import VoiError, nifti_voi, rtstruct_voi, seg_vois, sphere_voi

from .phantoms import small_phantom


@pytest.fixture
def pet_case(tmp_path):
    info = small_phantom(tmp_path / "pt")
    series = read_pet_series(info.files)
    lesion = next(les for les in info.lesions if les.name == "lesion_a")
    sphere = sphere_voi("a", series.geometry, lesion.centre_mm, lesion.radius_mm)
    return info, series, sphere.full(series.geometry.shape), tmp_path


@pytest.mark.parametrize("flips", [(), (0,), (1,), (2,), (0, 1), (0, 1, 2)])
def test_nifti_with_flipped_axes_gives_same_voxels(pet_case, flips):
    info, series, mask, tmp = pet_case
    path = str(tmp / "m.nii.gz")
    write_nifti_mask(path, mask, series.geometry.affine, flip_axes=flips)
    stored = np.asanyarray(nib.load(path).dataobj)
    if flips:  # the array on disk really is different
        assert not np.array_equal(stored, np.transpose(mask, (2, 1, 0)))
    voi = nifti_voi("a", series.geometry, path)
    assert np.array_equal(voi.full(series.geometry.shape), mask)


def test_nifti_transposed_axes_gives_same_voxels(pet_case):
    info, series, mask, tmp = pet_case
    data = np.transpose(mask, (2, 1, 0)).astype(np.uint8)  # [x, y, z]
    lps = series.geometry.affine.copy()
    swapped = np.transpose(data, (1, 0, 2))  # store as [y, x, z]
    affine = lps.copy()
    affine[:, [0, 1]] = lps[:, [1, 0]]
    path = str(tmp / "t.nii.gz")
    nib.save(nib.Nifti1Image(swapped, np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine), path)
    assert np.array_equal(nifti_voi("a", series.geometry, path).full(series.geometry.shape), mask)


def test_nifti_is_placed_by_affine_not_by_index(pet_case):
    """Same array, but an affine forgetting RAS->LPS: the voxels land mirrored in x and y, as the affine says."""
    info, series, mask, tmp = pet_case
    path = str(tmp / "lps_as_ras.nii.gz")
    nib.save(nib.Nifti1Image(np.transpose(mask, (2, 1, 0)).astype(np.uint8), series.geometry.affine), path)
    placed = nifti_voi("a", series.geometry, path).full(series.geometry.shape)
    assert not np.array_equal(placed, mask)
    assert np.array_equal(placed, mask[:, ::-1, ::-1])  # phantom grid is centred on x = y = 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [("spacing", "voxel size"), ("half_voxel", "fraction of a voxel"), ("shape", "does not cover")],
)
def test_nifti_grid_mismatch_refused(pet_case, change, reason):
    info, series, mask, tmp = pet_case
    affine = series.geometry.affine.copy()
    data = mask
    if change == "spacing":
        affine[:3, :3] *= 0.5
    elif change == "half_voxel":
        affine[:3, 3] += affine[:3, 0] * 0.5
    else:
        data = mask[:, :, :-2]
    path = str(tmp / f"{change}.nii.gz")
    write_nifti_mask(path, data, affine)
    with pytest.raises(VoiError, match=reason):
        nifti_voi("a", series.geometry, path)


def test_rtstruct_gives_same_voxels(pet_case):
    info, series, mask, tmp = pet_case
    path = str(tmp / "rs.dcm")
    write_rtstruct(path, info.files, {"lesion_a": mask})
    voi = rtstruct_voi("a", series.geometry, path, "lesion_a")
    assert np.array_equal(voi.full(series.geometry.shape), mask)


def test_rtstruct_hole_by_even_odd(pet_case):
    info, series, _, tmp = pet_case
    ring = np.zeros(series.geometry.shape, dtype=bool)
    ring[5, 10:30, 10:30] = True
    ring[5, 15:25, 15:25] = False
    path = str(tmp / "ring.dcm")
    write_rtstruct(path, info.files, {"ring": ring})
    assert np.array_equal(rtstruct_voi("r", series.geometry, path, "ring").full(series.geometry.shape), ring)


def test_rtstruct_other_frame_refused(pet_case):
    info, series, mask, tmp = pet_case
    path = str(tmp / "rs_other.dcm")
    write_rtstruct(path, info.files, {"lesion_a": mask}, frame_uid="1.2.3.4.5.6.7.8.9")
    with pytest.raises(VoiError, match="another frame of reference"):
        rtstruct_voi("a", series.geometry, path, "lesion_a")


def test_rtstruct_unknown_roi_lists_names(pet_case):
    info, series, mask, tmp = pet_case
    path = str(tmp / "rs.dcm")
    write_rtstruct(path, info.files, {"lesion_a": mask})
    with pytest.raises(VoiError, match="ROIs: lesion_a"):
        rtstruct_voi("a", series.geometry, path, "liver")


def test_seg_gives_same_voxels(pet_case):
    info, series, mask, tmp = pet_case
    path = str(tmp / "seg.dcm")
    write_seg(path, info.files, {"lesion_a": mask})
    (voi,) = seg_vois(series.geometry, path)
    assert voi.name == "lesion_a"
    assert np.array_equal(voi.full(series.geometry.shape), mask)


def test_seg_other_frame_refused(pet_case):
    info, series, mask, tmp = pet_case
    other = small_phantom(tmp / "other")
    path = str(tmp / "seg_other.dcm")
    write_seg(path, other.files, {"x": mask})
    with pytest.raises(VoiError, match="another frame of reference"):
        seg_vois(series.geometry, path)


def test_seg_other_grid_refused(pet_case):
    info, series, mask, tmp = pet_case
    other = small_phantom(tmp / "other", shape=(12, 36, 40), frame_of_reference_uid=info.uids["frame"])
    path = str(tmp / "seg_grid.dcm")
    write_seg(path, other.files, {"x": mask[:, :36, :]})
    with pytest.raises(VoiError, match="grid"):
        seg_vois(series.geometry, path)
