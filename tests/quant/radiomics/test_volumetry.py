"""Volumetry: exact voxel volumes on boxes, analytic marching-cubes volume on boxes, spheres, % change."""

from __future__ import annotations

import numpy as np
import pytest

from quant.radiomics.volumetry import VolumetryError, lesion_volume, percent_change

SPHERE_TOLERANCE = {10: 0.02, 20: 0.01}  # relative mesh-volume error allowed for radius (voxels)


def _box(shape: tuple[int, int, int], size: tuple[int, int, int], corner: tuple[int, int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(slice(c, c + s) for c, s in zip(corner, size))] = True
    return mask


def _mc_box_volume(a: int, b: int, c: int) -> float:
    """Marching cubes (level 0.5) volume of an a x b x c voxel box on a unit grid.

    Cells between voxel centres: interior cells count 1, face cells 1/2, edge cells a prism of 1/8,
    corner cells a tetrahedron of 1/48.
    """
    inner = (a - 1) * (b - 1) * (c - 1)
    faces = 2 * ((a - 1) * (b - 1) + (a - 1) * (c - 1) + (b - 1) * (c - 1)) / 2
    edges = 4 * ((a - 1) + (b - 1) + (c - 1)) / 8
    return inner + faces + edges + 8 / 48


def _sphere(radius_mm: float, spacing: tuple[float, float, float]) -> np.ndarray:
    half = [int(np.ceil(radius_mm / s)) + 2 for s in spacing]
    axes = [np.arange(-h, h + 1) * s for h, s in zip(half, spacing)]
    z, y, x = np.meshgrid(*axes, indexing="ij")
    return x**2 + y**2 + z**2 <= radius_mm**2


@pytest.mark.parametrize(
    ("size", "spacing"),
    [((7, 5, 3), (2.5, 0.8, 1.2)), ((1, 1, 1), (1.0, 1.0, 1.0)), ((4, 9, 6), (3.0, 0.9765625, 0.9765625))],
)
def test_voxel_volume_of_a_box_is_exact(size, spacing) -> None:
    mask = _box((12, 14, 10), size, (2, 3, 1))
    result = lesion_volume(mask, spacing)
    assert result.voxel_count == int(np.prod(size))
    assert result.voxel_volume_mm3 == pytest.approx(np.prod(size) * np.prod(spacing), rel=1e-12)
    assert result.voxel_volume_ml == pytest.approx(result.voxel_volume_mm3 / 1000, rel=1e-12)


@pytest.mark.parametrize("size", [(1, 1, 1), (2, 3, 4), (7, 5, 3)])
def test_mesh_volume_of_a_box_matches_marching_cubes_geometry(size) -> None:
    spacing = (2.0, 0.5, 1.5)
    result = lesion_volume(_box((10, 10, 10), size, (1, 2, 3)), spacing)
    assert result.mesh_volume_mm3 == pytest.approx(_mc_box_volume(*size) * np.prod(spacing), rel=1e-9)


def test_box_touching_the_array_edge_is_closed() -> None:
    result = lesion_volume(np.ones((3, 4, 5), dtype=bool), (1.0, 1.0, 1.0))
    assert result.mesh_volume_mm3 == pytest.approx(_mc_box_volume(3, 4, 5), rel=1e-9)


@pytest.mark.parametrize("radius_vox", sorted(SPHERE_TOLERANCE))
def test_mesh_volume_of_a_sphere_is_within_tolerance(radius_vox) -> None:
    result = lesion_volume(_sphere(float(radius_vox), (1.0, 1.0, 1.0)), (1.0, 1.0, 1.0))
    exact = 4 / 3 * np.pi * radius_vox**3
    assert abs(result.mesh_volume_mm3 / exact - 1) <= SPHERE_TOLERANCE[radius_vox]
    assert abs(result.mesh_area_mm2 / (4 * np.pi * radius_vox**2) - 1) <= 0.1


def test_mesh_volume_of_a_sphere_with_anisotropic_voxels() -> None:
    radius, spacing = 20.0, (2.0, 1.0, 1.0)
    result = lesion_volume(_sphere(radius, spacing), spacing)
    exact = 4 / 3 * np.pi * radius**3
    assert abs(result.mesh_volume_mm3 / exact - 1) <= 0.02
    assert abs(result.voxel_volume_mm3 / exact - 1) <= 0.02


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [(10.0, 15.0, 50.0), (10.0, 7.0, -30.0), (8.0, 0.0, -100.0), (4.0, 4.0, 0.0)],
)
def test_percent_change_from_baseline(baseline, current, expected) -> None:
    change = percent_change(baseline, current)
    assert change.percent_change == pytest.approx(expected, abs=1e-12)
    assert change.absolute_change == pytest.approx(current - baseline, abs=1e-12)
    assert "V_baseline" in change.formula


def test_percent_change_between_two_masks() -> None:
    base = lesion_volume(_box((10, 10, 10), (2, 2, 2), (1, 1, 1)), (1.0, 1.0, 1.0))
    follow = lesion_volume(_box((10, 10, 10), (2, 2, 3), (1, 1, 1)), (1.0, 1.0, 1.0))
    assert percent_change(base.voxel_volume_mm3, follow.voxel_volume_mm3).percent_change == pytest.approx(
        50.0
    )


@pytest.mark.parametrize(
    ("baseline", "current", "message"),
    [
        (0.0, 5.0, "baseline volume must be positive"),
        (5.0, -1.0, "cannot be negative"),
        (float("nan"), 1.0, "finite"),
    ],
)
def test_percent_change_rejects_bad_volumes(baseline, current, message) -> None:
    with pytest.raises(VolumetryError, match=message):
        percent_change(baseline, current)


@pytest.mark.parametrize(
    ("mask", "spacing", "message"),
    [
        (np.zeros((3, 3, 3), dtype=bool), (1, 1, 1), "mask is empty"),
        (np.ones((3, 3), dtype=bool), (1, 1, 1), "3D array"),
        (np.ones((3, 3, 3), dtype=bool), (1, 0, 1), "positive"),
        (np.ones((3, 3, 3), dtype=bool), (1, 1), "3 values"),
    ],
)
def test_lesion_volume_rejects_bad_input(mask, spacing, message) -> None:
    with pytest.raises(VolumetryError, match=message):
        lesion_volume(mask, spacing)


def test_result_states_both_formulas() -> None:
    result = lesion_volume(_box((5, 5, 5), (2, 2, 2), (1, 1, 1)), (1.0, 1.0, 1.0))
    assert "N_voxels" in result.formula and "marching-cubes" in result.formula
