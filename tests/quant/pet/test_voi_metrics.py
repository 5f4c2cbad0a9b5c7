"""VOI statistics: analytic spheres on the 89Zr phantom, SUVpeak, MTV/TLG, ratios."""

from __future__ import annotations

import numpy as np
import pytest

from quant.pet.phantom import Lesion
from quant.pet.series import read_pet_series
from quant.pet.suv import compute_suv
from quant.pet.voi import (
    PEAK_RADIUS_MM,
    VoiError,
    from_full_mask,
    peak_kernel,
    sphere_voi,
    suv_peak,
    tumour_to_blood,
    tumour_to_liver,
    voi_metrics,
)

from .phantoms import small_phantom

TOL = 12.0 / 30000.0  # int16 quantisation (see test_suv_phantom)


def _suv_series(tmp_path, **fields):
    info = small_phantom(tmp_path, **fields)
    series = read_pet_series(info.files)
    result = compute_suv(series.header)
    suv = series.volume * np.asarray(result.slice_factors, dtype=np.float32)[:, None, None]
    return info, series, suv


def _lattice_count(info, centre, radius):
    nz, ny, nx = info.shape
    sx, sy, sz = info.spacing
    o = info.origin
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx]
    d2 = (
        (o[0] + x * sx - centre[0]) ** 2 + (o[1] + y * sy - centre[1]) ** 2 + (o[2] + z * sz - centre[2]) ** 2
    )
    return int(np.count_nonzero(d2 <= radius**2))


def test_sphere_on_uniform_lesion_is_exact(tmp_path):
    info, series, suv = _suv_series(tmp_path)
    lesion = next(les for les in info.lesions if les.name == "lesion_a")
    voi = sphere_voi("a", series.geometry, lesion.centre_mm, lesion.radius_mm)
    m = voi_metrics(suv, voi, series.geometry.spacing)
    count = _lattice_count(info, lesion.centre_mm, lesion.radius_mm)
    assert m.voxel_count == count
    assert m.volume_ml == pytest.approx(count * 0.064)
    for value in (m.suv_max, m.suv_mean, m.suv_min, m.suv_median, m.suv_peak):
        assert value == pytest.approx(lesion.suv, abs=TOL)
    assert m.suv_sd == pytest.approx(0.0, abs=TOL)
    assert m.mtv41_ml == pytest.approx(m.volume_ml) and m.tlg41 == pytest.approx(
        m.volume_ml * lesion.suv, rel=1e-4
    )
    assert m.mtv_fixed_ml == pytest.approx(m.volume_ml)


def test_larger_sphere_mixes_lesion_and_background(tmp_path):
    info, series, suv = _suv_series(tmp_path)
    lesion = next(les for les in info.lesions if les.name == "lesion_a")
    voi = sphere_voi("a", series.geometry, lesion.centre_mm, lesion.radius_mm + 6.0)
    m = voi_metrics(suv, voi, series.geometry.spacing)
    n_in = _lattice_count(info, lesion.centre_mm, lesion.radius_mm)
    n_all = _lattice_count(info, lesion.centre_mm, lesion.radius_mm + 6.0)
    expected_mean = (n_in * 8.0 + (n_all - n_in) * 0.5) / n_all
    assert m.voxel_count == n_all
    assert m.suv_mean == pytest.approx(expected_mean, abs=TOL)
    assert m.suv_min == pytest.approx(0.5, abs=TOL)
    sd = np.sqrt((n_in * (8 - expected_mean) ** 2 + (n_all - n_in) * (0.5 - expected_mean) ** 2) / n_all)
    assert m.suv_sd == pytest.approx(sd, abs=1e-3)
    assert m.mtv41_ml == pytest.approx(n_in * 0.064)  # 0.41*8 = 3.28 splits lesion from background
    assert m.tlg41 == pytest.approx(n_in * 0.064 * 8.0, rel=1e-4)


def test_peak_kernel_volume_and_radius():
    kernel = peak_kernel((1.0, 1.0, 1.0))
    assert kernel.sum() * 1e-3 == pytest.approx(1.0, rel=0.03)  # ~1 cm3 at 1 mm voxels
    assert pytest.approx((3 / (4 * np.pi) * 1000) ** (1 / 3), abs=1e-3) == PEAK_RADIUS_MM
    assert peak_kernel((4.0, 4.0, 4.0)).sum() == 19  # centre, 6 faces, 12 edges


def test_suv_peak_not_centred_on_max_voxel():
    """A lone hot voxel at the VOI edge and a warm plateau elsewhere: the peak is the plateau."""
    suv = np.zeros((20, 20, 20))
    suv[3:9, 3:9, 3:9] = 5.0
    suv[15, 15, 15] = 10.0
    mask = np.zeros_like(suv, dtype=bool)
    mask[2:17, 2:17, 2:17] = True
    voi = from_full_mask("v", mask)
    spacing = (4.0, 4.0, 4.0)
    m = voi_metrics(suv, voi, spacing)
    assert m.suv_max == 10.0
    assert m.suv_peak == pytest.approx(5.0)
    around_max = suv[14:17, 14:17, 14:17][peak_kernel(spacing)].mean()
    assert around_max == pytest.approx(10.0 / 19)


def test_suv_peak_uses_voxels_outside_the_voi():
    """PERCIST: sphere voxels come from the whole image, not only the VOI."""
    suv = np.zeros((9, 9, 9))
    suv[3:6, 3:6, 3:6] = 3.0
    mask = np.zeros_like(suv, dtype=bool)
    mask[4, 4, 4] = True
    assert suv_peak(suv, from_full_mask("v", mask), (4.0, 4.0, 4.0)) == pytest.approx(3.0)


def test_fixed_threshold_mtv(tmp_path):
    info, series, suv = _suv_series(tmp_path)
    lesion = next(les for les in info.lesions if les.name == "lesion_b")  # SUV 5
    voi = sphere_voi("b", series.geometry, lesion.centre_mm, lesion.radius_mm + 8.0)
    m = voi_metrics(suv, voi, series.geometry.spacing, fixed_threshold=2.5)
    n_in = _lattice_count(info, lesion.centre_mm, lesion.radius_mm)
    assert m.mtv_fixed_ml == pytest.approx(n_in * 0.064)
    assert m.tlg_fixed == pytest.approx(n_in * 0.064 * 5.0, rel=1e-4)


def test_ratios_to_blood_and_liver(tmp_path):
    info, series, suv = _suv_series(tmp_path)
    by_name = {les.name: les for les in info.lesions}
    g, s = series.geometry, series.geometry.spacing
    tumour = voi_metrics(suv, sphere_voi("t", g, by_name["lesion_c"].centre_mm, 7.0), s)
    blood = voi_metrics(suv, sphere_voi("b", g, by_name["blood_pool"].centre_mm, 8.0), s)
    liver = voi_metrics(suv, sphere_voi("l", g, by_name["liver"].centre_mm, 15.0), s)
    assert tumour_to_blood(tumour, blood) == pytest.approx(12.0 / 6.0, rel=1e-3)
    assert tumour_to_liver(tumour, liver) == pytest.approx(12.0 / 4.0, rel=1e-3)


def test_sphere_outside_volume_refused(tmp_path):
    info, series, _ = _suv_series(tmp_path)
    with pytest.raises(VoiError, match="outside"):
        sphere_voi("far", series.geometry, (5000.0, 0.0, 0.0), 10.0)


def test_custom_lesion_list(tmp_path):
    lesions = [Lesion("only", (0.0, 0.0, -280.0), 9.0, 7.0)]
    info, series, suv = _suv_series(tmp_path, lesions=lesions)
    m = voi_metrics(suv, sphere_voi("x", series.geometry, (0.0, 0.0, -280.0), 9.0), series.geometry.spacing)
    assert m.suv_mean == pytest.approx(7.0, abs=TOL)


def test_coronal_mip_png_aspect_and_values(tmp_path):
    import io

    from matplotlib import image as mpimg

    from quant.pet.mip import coronal_mip, coronal_mip_png

    suv = np.zeros((10, 6, 8), dtype=np.float32)
    suv[9, 2, 3] = 10.0  # most superior slice
    mip = coronal_mip(suv, (2.0, 2.0, 4.0))
    assert mip.shape == (20, 8)  # 10 slices x 4 mm shown as 2 mm pixels
    assert mip[0, 3] == 10.0 and mip[-1, 3] == 0.0  # head at the top
    png = coronal_mip_png(suv, (2.0, 2.0, 4.0), (0.0, 10.0))
    decoded = mpimg.imread(io.BytesIO(png), format="png")
    assert decoded.shape[:2] == (20, 8)
    assert decoded[0, 3] == pytest.approx(0.0) and decoded[5, 0] == pytest.approx(1.0)  # inverted grey


def test_the_mip_is_enlarged_by_a_whole_factor_and_boxes_land_on_their_voxels():
    from quant.pet.mip import MIN_LONG_SIDE_PX, coronal_mip, mip_box, mip_upscale

    suv = np.zeros((10, 6, 8), dtype=np.float32)
    suv[9, 2, 3] = 10.0  # most superior slice, x index 3
    suv[0, 4, 6] = 5.0  # most inferior slice, x index 6
    spacing = (2.0, 2.0, 4.0)
    factor = mip_upscale(suv.shape, spacing)
    assert factor == 24 and 20 * factor >= MIN_LONG_SIDE_PX > 20 * (factor - 1)  # 20 rows before enlarging
    big = coronal_mip(suv, spacing, upscale=factor)
    assert big.shape == (20 * factor, 8 * factor)
    # The box of voxel (x=3, z=9) covers exactly the bright pixels at the top; (x=6, z=0) those at the bottom.
    for (x, z), value in (((3, 9), 10.0), ((6, 0), 5.0)):
        left, top, width, height = mip_box((x, x), (z, z), suv.shape, spacing, factor)
        assert (width, height) == (factor, 2 * factor)  # one 4 mm slice = two 2 mm rows
        inside = big[int(top) : int(top + height), int(left) : int(left + width)]
        assert (inside == value).all() and (big == value).sum() == inside.size
    assert mip_upscale((400, 200, 200), (2.0, 2.0, 2.0)) == 2 and mip_upscale((500, 1, 1), (1, 1, 1)) == 1


def test_sphere_follows_orientation_and_normal(tmp_path):
    """Rows running to patient right (-x) and the slice normal to -z: spheres are placed in patient mm."""
    import pydicom

    info = small_phantom(tmp_path)
    for path in info.files:
        ds = pydicom.dcmread(path)
        x0, y0, z0 = (float(v) for v in ds.ImagePositionPatient)
        ds.ImageOrientationPatient = [-1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-x0, y0, z0]  # same first-column position, mirrored row direction
        ds.save_as(path)
    series = read_pet_series(info.files)
    g = series.geometry
    assert np.allclose(g.normal, [0, 0, -1]) and g.slice_positions[0] < g.slice_positions[-1]
    assert np.allclose(g.affine[:3, 2], [0, 0, -4.0])  # slice index runs towards -z
    result = compute_suv(series.header)
    suv = series.volume * np.asarray(result.slice_factors, dtype=np.float32)[:, None, None]
    lesion = next(les for les in info.lesions if les.name == "lesion_a")
    x, y, z = lesion.centre_mm
    # the pixel that was at patient x now sits at -x (rows mirrored); z is unchanged per slice
    m = voi_metrics(suv, sphere_voi("a", g, (-x, y, z), lesion.radius_mm), g.spacing)
    assert m.suv_mean == pytest.approx(lesion.suv, abs=TOL)
    assert m.voxel_count == _lattice_count(info, lesion.centre_mm, lesion.radius_mm)
