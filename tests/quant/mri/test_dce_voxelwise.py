"""Vectorised voxel-wise extended Tofts: two-region phantom, mask handling, agreement with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares

from quant.errors import QuantInputError
from quant.mri.aif import parker_plasma_mM
from quant.mri.dce_models import extended_tofts
from quant.mri.dce_voxelwise import fit_extended_tofts_voxelwise, fit_tofts_family_voxelwise

T_S = np.arange(60) * 5.0
CP = parker_plasma_mM(T_S, delay_s=20.0)
REGION_A = {"Ktrans_per_min": 0.25, "ve": 0.40, "vp": 0.05}
REGION_B = {"Ktrans_per_min": 0.05, "ve": 0.15, "vp": 0.01}


def _phantom(noise_sd: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10x12x2 volume: left half region A, right half region B, a 1-voxel unmasked border."""
    shape = (10, 12, 2)
    region = np.zeros(shape, dtype=int)
    region[:, 6:, :] = 1
    mask = np.zeros(shape, dtype=bool)
    mask[1:-1, 1:-1, :] = True
    curves = [
        extended_tofts(T_S / 60, CP, *(p[k] for k in ("Ktrans_per_min", "ve", "vp")))
        for p in (REGION_A, REGION_B)
    ]
    ct = np.stack(curves)[region]
    ct += np.random.default_rng(seed).normal(0, noise_sd, ct.shape)
    return ct, mask, region


def test_noise_free_phantom_is_recovered_exactly() -> None:
    ct, mask, region = _phantom(0.0)
    maps = fit_extended_tofts_voxelwise(ct, T_S, CP, mask)
    for r, truth in enumerate((REGION_A, REGION_B)):
        sel = mask & (region == r)
        for key, val in truth.items():
            assert maps[key][sel] == pytest.approx(val, rel=1e-5, abs=1e-7)
    assert np.nanmax(maps["residual_rms_mM"]) < 1e-8


def test_noisy_phantom_region_medians_are_within_osipi_tolerances() -> None:
    ct, mask, region = _phantom(0.01, seed=3)
    maps = fit_extended_tofts_voxelwise(ct, T_S, CP, mask)
    tol = {"Ktrans_per_min": lambda v: 0.005 + 0.1 * v, "ve": lambda v: 0.05, "vp": lambda v: 0.025}
    for r, truth in enumerate((REGION_A, REGION_B)):
        sel = mask & (region == r)
        for key, val in truth.items():
            assert abs(np.median(maps[key][sel]) - val) <= tol[key](val), key
    assert np.nanmedian(maps["residual_rms_mM"]) == pytest.approx(0.01, rel=0.2)


def test_outside_mask_is_nan_and_maps_have_image_shape() -> None:
    ct, mask, _ = _phantom(0.0)
    maps = fit_extended_tofts_voxelwise(ct, T_S, CP, mask)
    assert set(maps) == {"Ktrans_per_min", "ve", "vp", "kep_per_min", "residual_rms_mM"}
    for m in maps.values():
        assert m.shape == mask.shape
        assert np.all(np.isnan(m[~mask])) and np.all(np.isfinite(m[mask]))


def test_batched_refinement_matches_scipy_least_squares_per_voxel() -> None:
    ct, mask, _ = _phantom(0.02, seed=11)
    maps = fit_extended_tofts_voxelwise(ct, T_S, CP, mask)
    for idx in [(1, 1, 0), (4, 9, 1), (8, 3, 1)]:
        res = least_squares(
            lambda p, y=ct[idx]: extended_tofts(T_S / 60, CP, *p) - y,
            [0.1, 0.3, 0.02],
            bounds=([0, 1e-3, 0], [5, 1, 1]),
        )
        got = [maps[k][idx] for k in ("Ktrans_per_min", "ve", "vp")]
        assert got == pytest.approx(res.x, rel=1e-3, abs=1e-4)


def test_standard_tofts_voxelwise_has_no_vp_map() -> None:
    ct = np.stack([extended_tofts(T_S / 60, CP, 0.2, 0.3, 0.0)] * 4)
    maps = fit_tofts_family_voxelwise(ct, T_S, CP, None, extended=False)
    assert "vp" not in maps
    assert maps["Ktrans_per_min"] == pytest.approx(0.2, rel=1e-5)


def test_mask_shape_mismatch_is_refused() -> None:
    ct, mask, _ = _phantom(0.0)
    with pytest.raises(QuantInputError, match="mask shape"):
        fit_extended_tofts_voxelwise(ct, T_S, CP, mask[:, :, 0])
