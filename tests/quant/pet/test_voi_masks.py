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


def test_nifti_half_voxel_shift_on_the_pet_voxel_size_refused(pet_case):
    info, series, mask, tmp = pet_case
    affine = series.geometry.affine.copy()
    affine[:3, 3] += affine[:3, 0] * 0.5
    path = str(tmp / "half_voxel.nii.gz")
    write_nifti_mask(path, mask, affine)
    with pytest.raises(VoiError, match="fraction of a voxel"):
        nifti_voi("a", series.geometry, path)


def test_nifti_on_a_finer_grid_is_resampled(pet_case):
    """A 3x finer mask (voxel centres of the middle fine voxels on the PET centres) gives the same voxels."""
    info, series, mask, tmp = pet_case
    fine = mask.repeat(3, axis=0).repeat(3, axis=1).repeat(3, axis=2)
    affine = series.geometry.affine.copy()
    affine[:3, 3] -= affine[:3, :3] @ np.array([1 / 3, 1 / 3, 1 / 3])
    affine[:3, :3] /= 3.0
    path = str(tmp / "fine.nii.gz")
    write_nifti_mask(path, fine, affine)
    voi = nifti_voi("a", series.geometry, path)
    assert np.array_equal(voi.full(series.geometry.shape), mask)
    assert "resampled onto the PET grid" in voi.method and voi.voxel_count == int(mask.sum()) > 0


def test_nifti_cropped_to_its_box_is_placed_by_affine(pet_case):
    info, series, mask, tmp = pet_case
    zs, ys, xs = (np.flatnonzero(mask.any(axis=a)) for a in ((1, 2), (0, 2), (0, 1)))
    crop = mask[zs[0] : zs[-1] + 1, ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1]
    affine = series.geometry.affine.copy()
    affine[:3, 3] = series.geometry.index_to_patient(np.array([[xs[0], ys[0], zs[0]]], dtype=float))[0]
    path = str(tmp / "crop.nii.gz")
    write_nifti_mask(path, crop, affine)
    assert np.array_equal(nifti_voi("a", series.geometry, path).full(series.geometry.shape), mask)


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


def test_seg_on_another_grid_of_the_same_frame_is_resampled(pet_case):
    info, series, mask, tmp = pet_case
    other = small_phantom(tmp / "other", shape=(12, 36, 40), frame_of_reference_uid=info.uids["frame"])
    other_series = read_pet_series(other.files)
    other_mask = np.zeros(other_series.geometry.shape, dtype=bool)
    centre = next(les for les in info.lesions if les.name == "lesion_a")
    other_mask |= sphere_voi("a", other_series.geometry, centre.centre_mm, centre.radius_mm).full(
        other_series.geometry.shape
    )
    path = str(tmp / "seg_grid.dcm")
    write_seg(path, other.files, {"x": other_mask})
    [voi] = seg_vois(series.geometry, path)
    # the other grid is the PET grid shifted by whole voxels: the same sphere, voxel for voxel
    assert np.array_equal(voi.full(series.geometry.shape), mask)
    assert "frames placed by ImagePositionPatient" in voi.method
