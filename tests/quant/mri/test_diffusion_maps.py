"""Vectorised IVIM and DKI maps: analytic truth, noise, flags for every voxel, no crash on denormal K."""

from __future__ import annotations

import numpy as np
import pytest

from quant.errors import ModelValidityError, QuantInputError
from quant.mri import phantom_dicom as ph
from quant.mri.diffusion_maps import fit_dki_maps, fit_ivim_maps
from quant.mri.dki import fit_dki, validity_limit

B_IVIM = np.array([0, 10, 20, 50, 100, 200, 400, 600, 800, 1000.0])
B_DKI = np.array([0, 500, 1000, 1500, 2000.0])
RNG = np.random.default_rng(11)
N = 200
F, D, DS = RNG.uniform(0.05, 0.3, N), RNG.uniform(5e-4, 2e-3, N), RNG.uniform(0.01, 0.08, N)
DK, K = RNG.uniform(6e-4, 1.2e-3, N), RNG.uniform(0.5, 1.2, N)


def test_ivim_noise_free_exact() -> None:
    sig = ph.ivim_spec(np.full(N, 900.0), F, D, DS, B_IVIM).volumes
    m = fit_ivim_maps(B_IVIM, sig)
    np.testing.assert_allclose(m.params["f"], F, atol=1e-6)
    np.testing.assert_allclose(m.params["d_mm2_per_s"], D, rtol=1e-5)
    np.testing.assert_allclose(m.params["dstar_mm2_per_s"], DS, rtol=1e-4)
    assert (m.flags == 0).all()


def test_ivim_snr_50_accuracy() -> None:
    spec = ph.add_rician_noise(ph.ivim_spec(np.full(N, 1000.0), F, D, DS, B_IVIM), 20.0, seed=3)
    m = fit_ivim_maps(B_IVIM, spec.volumes)
    assert np.median(np.abs(m.params["f"] - F)) < 0.03
    assert np.median(np.abs(m.params["d_mm2_per_s"] / D - 1)) < 0.06
    assert np.all(np.isfinite(m.params["dstar_mm2_per_s"]))


def test_dki_noise_free_exact_and_snr_20_every_voxel_estimated() -> None:
    clean = ph.dki_spec(np.full(N, 1000.0), DK, K, B_DKI)
    m = fit_dki_maps(B_DKI, clean.volumes)
    np.testing.assert_allclose(m.params["d_mm2_per_s"], DK, rtol=1e-6)
    np.testing.assert_allclose(m.params["k"], K, atol=1e-5)
    noisy_sig = ph.add_rician_noise(clean, 50.0, seed=4).volumes  # SNR 20 at b = 0
    noisy = fit_dki_maps(B_DKI, noisy_sig)
    assert np.all(np.isfinite(noisy.params["k"])) and np.all(np.isfinite(noisy.params["d_mm2_per_s"]))
    # Held to the validated per-voxel scipy fit on the voxels that fit does not refuse: equal accuracy.
    ref = {}
    for i in range(N):
        try:
            r = fit_dki(B_DKI, noisy_sig[i])
        except ModelValidityError:
            continue
        ref[i] = (r.D_mm2_s, r.K)
    assert len(ref) < N  # the single-curve fit refuses some voxels; the maps give every voxel a value
    idx = np.array(sorted(ref))
    ref_d = np.array([ref[i][0] for i in idx])
    ref_k = np.array([ref[i][1] for i in idx])
    err_d = np.median(np.abs(noisy.params["d_mm2_per_s"][idx] / DK[idx] - 1))
    err_k = np.median(np.abs(noisy.params["k"][idx] - K[idx]))
    assert err_d <= 1.02 * np.median(np.abs(ref_d / DK[idx] - 1))
    assert err_k <= 1.02 * np.median(np.abs(ref_k - K[idx]))
    assert err_d < 0.2 and err_k < 0.35


def test_dki_flags_negative_kurtosis_and_bad_signal_without_refusing() -> None:
    sig = np.vstack(
        [
            1000 * np.exp(-B_DKI * 1e-3 + B_DKI**2 * 1e-6 * -0.5 / 6),  # K < 0: K lands on its bound 0
            np.r_[1000.0, 0.0, -5.0, np.nan, 10.0],  # not positive / not finite
        ]
    )
    m = fit_dki_maps(B_DKI, sig)
    assert m.params["k"][0] == 0.0 and m.flags.tolist() == [1, 3]
    assert np.all(np.isfinite(m.params["d_mm2_per_s"]))


def test_validity_limit_with_denormal_k_does_not_divide_by_zero() -> None:
    assert validity_limit(1e-3, 5e-324) == float("inf")
    res = fit_dki(B_DKI, 1000 * np.exp(-B_DKI * 1e-3 + B_DKI**2 * 1e-6 * -0.5 / 6))
    assert pytest.approx(0.0, abs=1e-12) == res.K


def test_too_few_b_values_refused() -> None:
    with pytest.raises(QuantInputError, match="at least 4 distinct b-values"):
        fit_ivim_maps(np.array([0, 0, 1000.0]), np.ones((2, 3)))
    with pytest.raises(QuantInputError, match="at least 3 distinct b-values"):
        fit_dki_maps(np.array([0, 1000.0]), np.ones((2, 2)))
