"""Texture module: discretisation, analytic matrices, invariances, input errors, reference matcher."""

from __future__ import annotations

import numpy as np
import pytest

from quant.radiomics import texture_matrices as tm
from quant.radiomics import texture_morph
from quant.radiomics.texture import (
    Discretisation,
    TextureError,
    TextureSettings,
    compute_features,
    discretise,
)
from quant.radiomics.texture_stats import intensity_volume_histogram
from tests.quant.radiomics.ibsi1_reference import (
    DATA,
    compute_phantom_features,
    load_nifti_zyx,
    matches_reference,
)


@pytest.mark.parametrize(
    ("value", "reference", "tolerance", "expected"),
    [
        (2.1494, 2.15, 0.0, True),
        (2.1551, 2.15, 0.0, False),
        (-0.3551, -0.355, 0.0, True),
        (1487.0, 1490.0, 0.0, True),
        (559.9, 556.0, 4.0, True),
        (560.5, 556.0, 4.0, False),
        (1e-12, 0.0, 0.0, True),
        (1e-3, 0.0, 0.0, False),
        (float("nan"), 1.0, 0.0, False),
    ],
)
def test_reference_matcher(value, reference, tolerance, expected) -> None:
    assert matches_reference(value, reference, tolerance) is expected


def test_fixed_bin_number() -> None:
    levels, ng = discretise(np.array([0.0, 0.49, 0.5, 1.0, 1.99, 2.0]), Discretisation("fbn", n_bins=4))
    assert ng == 4
    assert levels.tolist() == [1, 1, 2, 3, 4, 4]


def test_fixed_bin_size_with_lower_bound() -> None:
    disc = Discretisation("fbs", bin_width=0.1, lower_bound=0.0)
    levels, ng = discretise(np.array([0.0, 0.05, 0.1, 0.3, 0.35]), disc)
    assert levels.tolist() == [1, 1, 2, 4, 4]
    assert ng == 4


def test_fixed_bin_size_rejects_values_below_lower_bound() -> None:
    with pytest.raises(TextureError, match="below the discretisation lower bound"):
        discretise(np.array([1.0, 2.0]), Discretisation("fbs", bin_width=1.0, lower_bound=1.5))


def _stripes() -> tuple[np.ndarray, np.ndarray]:
    """Levels alternate 1, 2 along x and are constant along y and z."""
    image = np.broadcast_to((np.arange(6) % 2 + 1).astype(float), (3, 4, 6)).copy()
    return image, np.ones(image.shape, dtype=bool)


def test_glcm_of_stripes_is_analytic() -> None:
    image, mask = _stripes()
    feats = compute_features(image, mask, (1, 1, 1), TextureSettings(families=("cm",))).features
    # in-plane directions x, y, (y+x), (y-x): every pair differs by 1 except along y
    assert feats["cm_contrast_2_5D_avg"] == pytest.approx(0.75, abs=1e-12)
    assert feats["cm_contrast_2_5D_comb"] == pytest.approx(
        (3 * 4 * 5 + 3 * 5 * 3 * 2) / (3 * 4 * 5 + 3 * 3 * 6 + 3 * 5 * 3 * 2), abs=1e-12
    )
    idx, values = tm.compact(image.astype(np.int64))
    mats = tm.cooccurrence(idx, values, tm.DIRECTIONS_3D)
    assert mats[0].counts.tolist() == [[0, 60], [60, 0]]  # direction x: 60 ordered pairs each way
    assert mats[1].counts.tolist() == [[54, 0], [0, 54]]  # direction y


def test_size_zones_of_two_half_boxes() -> None:
    image = np.ones((4, 4, 4))
    image[:, :, 2:] = 2
    feats = compute_features(image, image > 0, (1, 1, 1), TextureSettings(families=("szm", "rlm"))).features
    assert feats["szm_sze_3D"] == pytest.approx(1 / 32**2)
    assert feats["szm_z_perc_3D"] == pytest.approx(2 / 64)
    assert feats["szm_glnu_3D"] == pytest.approx(1.0)
    # along x every run has length 2; along y and z length 4
    assert feats["rlm_r_perc_3D_comb"] == pytest.approx(sum(_runs_per_direction()) / (13 * 64))


def _runs_per_direction() -> list[int]:
    image = np.ones((4, 4, 4), dtype=np.int64)
    image[:, :, 2:] = 2
    idx, values = tm.compact(image)
    return [int(m.counts.sum()) for m in tm.run_lengths(idx, values, tm.DIRECTIONS_3D)]


def test_edge_distance_is_taxicab_to_outside() -> None:
    mask = np.ones((5, 5, 5), dtype=bool)
    dist3 = tm.edge_distance(mask, two_d=False)
    dist2 = tm.edge_distance(mask, two_d=True)
    assert dist3[2, 2, 2] == 3 and dist3[0, 2, 2] == 1
    assert dist2[0, 2, 2] == 3 and dist2[2, 0, 2] == 1


@pytest.mark.parametrize(
    "transform",
    [lambda a: a[:, :, ::-1], lambda a: a[:, ::-1, :], lambda a: a[::-1], lambda a: a.transpose(0, 2, 1)],
    ids=["flip_x", "flip_y", "flip_z", "swap_xy"],
)
def test_phantom_features_are_invariant_to_flips_and_in_plane_transpose(transform) -> None:
    image, spacing = load_nifti_zyx(DATA / "phantom.nii.gz")
    mask, _ = load_nifti_zyx(DATA / "mask.nii.gz")
    ref = compute_phantom_features()
    ours = compute_features(transform(image), transform(mask) > 0, spacing).features
    assert ours.keys() == ref.keys()
    for tag, value in ref.items():
        assert ours[tag] == pytest.approx(value, rel=1e-9, abs=1e-12), tag


def test_moran_fft_path_equals_pairwise(monkeypatch) -> None:
    rng = np.random.default_rng(7)
    roi = rng.random((7, 9, 11)) > 0.3
    image = rng.gamma(2.0, 1.0, roi.shape)
    spacing = (2.0, 0.7, 1.1)
    pairwise = texture_morph.spatial_autocorrelation(image, roi, spacing)
    monkeypatch.setattr(texture_morph, "PAIRWISE_MAX_VOXELS", 0)
    fft = texture_morph.spatial_autocorrelation(image, roi, spacing)
    for key in pairwise:
        assert fft[key] == pytest.approx(pairwise[key], rel=1e-9)


def test_moran_matches_the_textbook_double_sum() -> None:
    rng = np.random.default_rng(3)
    roi = rng.random((3, 4, 4)) > 0.4
    image = rng.normal(5, 2, roi.shape)
    pts, x = np.argwhere(roi) * np.array([2.0, 1.0, 1.0]), image[roi]
    n, dev = len(x), x - x.mean()
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    w = np.where(d > 0, 1 / np.where(d > 0, d, 1), 0)
    moran = n / w.sum() * (w * np.outer(dev, dev)).sum() / (dev**2).sum()
    geary = (n - 1) / (2 * w.sum()) * (w * (x[:, None] - x[None]) ** 2).sum() / (dev**2).sum()
    ours = texture_morph.spatial_autocorrelation(image, roi, (2.0, 1.0, 1.0))
    assert ours["morph_moran_i"] == pytest.approx(moran, rel=1e-10)
    assert ours["morph_geary_c"] == pytest.approx(geary, rel=1e-10)


@pytest.mark.parametrize(
    ("image", "mask", "spacing", "settings", "message"),
    [
        (np.ones((3, 3, 3)), np.ones((3, 3, 2)), (1, 1, 1), None, "does not match"),
        (np.ones((3, 3, 3)), np.zeros((3, 3, 3)), (1, 1, 1), None, "mask is empty"),
        (np.ones((3, 3)), np.ones((3, 3)), (1, 1, 1), None, "3D array"),
        (np.full((3, 3, 3), np.nan), np.ones((3, 3, 3)), (1, 1, 1), None, "NaN"),
        (np.ones((3, 3, 3)), np.ones((3, 3, 3)), (1, -1, 1), None, "spacing"),
        (np.ones((3, 3, 3)), np.ones((3, 3, 3)), (1, 1, 1), TextureSettings(families=("glcm",)), "unknown"),
        (
            np.ones((3, 3, 3)),
            np.ones((3, 3, 3)),
            (1, 1, 1),
            TextureSettings(discretisation=Discretisation("fbs", bin_width=0)),
            "bin_width",
        ),
    ],
)
def test_bad_input_gives_a_readable_error(image, mask, spacing, settings, message) -> None:
    with pytest.raises(TextureError, match=message):
        compute_features(image, mask, spacing, settings)


def test_single_voxel_roi_does_not_crash() -> None:
    image = np.zeros((3, 3, 3))
    image[1, 1, 1] = 5.0
    mask = image > 0
    result = compute_features(image, mask, (1, 1, 1))
    assert result.n_voxels == 1
    assert result.features["stat_mean"] == 5.0
    assert result.features["morph_vol_approx"] == 1.0


def test_ivh_of_one_voxel_per_level_is_linear() -> None:
    n = 11
    feats = intensity_volume_histogram(np.arange(1, n + 1), np.arange(1, n + 1))
    # nu(i) = (n - i + 1) / n falls linearly from 1 to 1/n over gamma in [0, 1]
    assert feats["ivh_auc"] == pytest.approx((1 + 1 / n) / 2, abs=1e-12)
    assert feats["ivh_v10"] == pytest.approx(10 / n)  # levels 2..11 have gamma >= 0.1
    assert feats["ivh_i10"] == 11.0  # nu(11) = 1/11 <= 0.10, nu(10) = 2/11 > 0.10


def test_large_grey_level_count_stays_consistent_across_aggregations() -> None:
    rng = np.random.default_rng(11)
    image = rng.gamma(2.0, 1.5, size=(6, 12, 12))
    mask = np.ones(image.shape, dtype=bool)
    fine = TextureSettings(discretisation=Discretisation("fbs", bin_width=0.05))
    result = compute_features(image, mask, (2.0, 1.0, 1.0), fine)
    assert result.n_levels > 200
    feats = result.features
    assert all(np.isfinite(v) for k, v in feats.items() if not k.startswith("morph_"))
    # merging every direction of the whole volume: counts are summed, so run percentage averages out
    assert feats["rlm_r_perc_3D_comb"] == pytest.approx(feats["rlm_r_perc_3D_avg"], rel=1e-12)
    assert feats["ngl_dc_perc_3D"] == 1.0
