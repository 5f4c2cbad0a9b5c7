"""Voxel-wise DCE from signal: VFA T1, SPGR inversion, fine-grid AIF, bolus arrival, Tofts/ETofts/2CXM maps."""

from __future__ import annotations

import numpy as np
import pytest

from quant.errors import QuantInputError
from quant.mri import dce_mapping as dm
from quant.mri import phantom_dicom as ph
from quant.mri.dce import spgr_signal

TIMES = np.arange(0.0, 240.1, 4.0)


def test_vfa_t1_recovers_truth_exactly() -> None:
    t1 = np.array([0.4, 0.9, 1.2, 1.6, 2.5])
    flips = np.array([2.0, 5.0, 10.0, 15.0])
    sig = np.stack([spgr_signal(800.0, 1 / t1, 0.004, a) for a in flips], axis=-1)
    est, ok = dm.t1_from_vfa(sig, flips, 0.004)
    assert ok.all()
    np.testing.assert_allclose(est, t1, rtol=1e-9)
    with pytest.raises(QuantInputError, match="2 different flip angles"):
        dm.t1_from_vfa(sig[:, :1], flips[:1], 0.004)


def test_signal_to_concentration_inverts_spgr_and_flags_impossible_signal() -> None:
    conc = np.array([[0, 0, 0.5, 1.0, 2.0], [0, 0, 0.1, 0.2, 0.3]])
    t10 = np.array([1.2, 0.8])
    sig = spgr_signal(500.0, 1 / t10[:, None] + 4.5 * conc, 0.004, 15.0)
    sig = np.vstack([sig, [100, 100, 1e6, 100, 100]])  # above the fully relaxed signal
    out, ok = dm.signal_to_concentration(sig, np.r_[t10, 1.0], 0.004, 15.0, 4.5, 2)
    np.testing.assert_allclose(out[:2], conc, atol=1e-9)
    assert ok.tolist() == [True, True, False] and np.isnan(out[2]).all()


def _ct(model: str, params: dict[str, float], delay: float) -> np.ndarray:
    maps = {k: np.array([v]) for k, v in params.items()}
    return ph.tissue_concentration(model, maps, TIMES, delay, 0.45)


@pytest.mark.parametrize(
    ("model", "truth", "rel"),
    [
        ("tofts", {"ktrans_per_min": 0.3, "ve": 0.4}, 0.005),
        ("extended_tofts", {"ktrans_per_min": 0.15, "ve": 0.25, "vp": 0.06}, 0.005),
        ("2cxm", {"fp_per_min": 0.6, "ps_per_min": 0.15, "ve": 0.25, "vp": 0.07}, 0.02),
    ],
)
def test_models_and_bolus_arrival_recovered_from_curves(model: str, truth: dict, rel: float) -> None:
    """Truth made on a 0.1 s grid with the bolus 27.3 s after the first frame; fit on the 0.5 s grid."""
    ct = _ct(model, truth, 27.3)
    aif = dm.make_aif("parker", TIMES, 0.45)
    res = dm.fit_dce_maps(model, ct, TIMES, aif, delay_range=(0.0, 36.0), fit_delay=False)
    assert res.info["delay_detected_s"] == pytest.approx(27.3, abs=0.3)
    names = dict(zip(truth, dm.PARAMS[model]))
    for key, value in truth.items():
        assert res.params[names[key]][0] == pytest.approx(value, rel=rel), key


def _mixed_2cxm(n: int, delay: float, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """n voxels with uniform random 2CXM truths (the ranges of bench/dce_dcmri_bench.py), noise-free."""
    rng = np.random.default_rng(seed)
    truth = {
        "fp_per_min": rng.uniform(0.1, 1.0, n),
        "ps_per_min": rng.uniform(0.02, 0.3, n),
        "ve": rng.uniform(0.1, 0.5, n),
        "vp": rng.uniform(0.02, 0.1, n),
    }
    return truth, ph.tissue_concentration("2cxm", truth, TIMES, delay, 0.45)


def test_arrival_detected_on_heterogeneous_2cxm_voxels() -> None:
    """200 different noise-free 2CXM voxels, bolus at 20 s: their MEAN curve is no 2CXM curve, and fitting
    one curve to it put the arrival ~0.35 s early (Fp median error ~9 %). The per-voxel profile finds the
    arrival within 0.1 s and Fp, PS and vp within 2 % (median relative error) of the truth."""
    truth, ct = _mixed_2cxm(200, 20.0)
    aif = dm.make_aif("parker", TIMES, 0.45)
    nb = dm.baseline_frames(ct.mean(axis=0))
    res = dm.fit_dce_maps("2cxm", ct, TIMES, aif, delay_range=(0.0, float(TIMES[nb + 1])), fit_delay=False)
    assert res.info["delay_detected_s"] == pytest.approx(20.0, abs=0.1)
    assert "per-voxel 2cxm residuals" in res.info["delay_detection"]
    assert res.info["delay_profile_voxels"] == dm.PROFILE_VOXELS
    names = dict(zip(truth, dm.PARAMS["2cxm"]))
    for key in ("fp_per_min", "ps_per_min", "vp"):
        err = np.median(np.abs(res.params[names[key]] / truth[key] - 1))
        assert err < 0.02, (key, err)


def test_arrival_detection_ignores_non_enhancing_voxels_and_given_delay_is_recorded() -> None:
    """A third of the voxels do not enhance (noise only): the arrival is still found from the others; a
    given delay is recorded as given, not detected."""
    truth, ct = _mixed_2cxm(40, 14.0, seed=1)
    rng = np.random.default_rng(2)
    ct = np.vstack([ct, rng.normal(0.0, 0.002, (20, TIMES.size))])
    aif = dm.make_aif("parker", TIMES, 0.45)
    res = dm.fit_dce_maps("2cxm", ct, TIMES, aif, delay_range=(0.0, 24.0), fit_delay=False)
    assert res.info["delay_detected_s"] == pytest.approx(14.0, abs=0.1)
    assert "of 40 enhancing voxels" in res.info["delay_detection"]
    given = dm.fit_dce_maps(
        "tofts", ct[:2], TIMES, aif, delay_range=(0.0, 24.0), fit_delay=False, fixed_delay_s=14.0
    )
    assert given.info["delay_detected_s"] == 14.0
    assert given.info["delay_detection"] == "given (not detected)"


def test_fine_grid_removes_frame_time_bias_of_2cxm_fp() -> None:
    """Sampling the AIF and convolution only at 4 s frames biases Fp; the fine grid does not."""
    truth = {"fp_per_min": 0.8, "ps_per_min": 0.1, "ve": 0.3, "vp": 0.05}
    ct = _ct("2cxm", truth, 20.0)
    fine = dm.make_aif("parker", TIMES, 0.45)
    coarse = dm.Aif("parker", TIMES.copy(), np.arange(TIMES.size, dtype=float), 0.45)
    got = {}
    for name, aif in (("fine", fine), ("coarse", coarse)):
        got[name] = dm.fit_dce_maps(
            "2cxm", ct, TIMES, aif, delay_range=(0, 30), fit_delay=False, fixed_delay_s=20.0
        )
    fp = {k: v.params["fp_ml_per_min_per_ml"][0] for k, v in got.items()}
    assert fp["fine"] == pytest.approx(0.8, rel=0.01)
    assert abs(fp["coarse"] / 0.8 - 1) > 0.03  # the bias the fine grid removes


def test_per_voxel_delay_fit() -> None:
    ct = np.vstack([_ct("tofts", {"ktrans_per_min": 0.2, "ve": 0.3}, d) for d in (12.0, 18.5)])
    aif = dm.make_aif("parker", TIMES, 0.45)
    res = dm.fit_dce_maps("tofts", ct, TIMES, aif, delay_range=(0.0, 30.0), fit_delay=True)
    assert res.delay_s == pytest.approx([12.0, 18.5], abs=0.3)
    assert res.params["ktrans_per_min"] == pytest.approx([0.2, 0.2], rel=0.01)


def test_baseline_frames_and_refusals() -> None:
    assert dm.baseline_frames(np.array([10, 10, 10, 10, 20, 40, 35.0])) == 3
    with pytest.raises(QuantInputError, match="no enhancement"):
        dm.baseline_frames(np.full(5, 10.0))
    with pytest.raises(QuantInputError, match="hematocrit"):
        dm.make_aif("parker", TIMES, 1.2)
