"""The dcmri comparison bench (bench/dce_dcmri_bench.py) gives both engines the same inputs: checked without dcmri.

The bench's phantom, its dcmri input arguments and its unit conversion are exercised here; dcmri itself is not
imported (it is in the ``bench`` extra only).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from quant.mri import dce_mapping as dm

_PATH = Path(__file__).resolve().parents[3] / "bench" / "dce_dcmri_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("dce_dcmri_bench", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("dce_dcmri_bench", module)
    spec.loader.exec_module(module)
    return module


def test_dcmri_sees_our_plasma_aif_on_our_grid(bench):
    """dcmri's ca (whole blood, M) / (1 - H) is our Parker plasma AIF on our fine grid, to 1e-12 mM."""
    t10 = np.array([0.9, 1.4])
    kw = bench.dcmri_inputs(t10)
    aif = dm.make_aif("parker", bench.frame_times(), bench.HCT)
    assert kw["dt"] == pytest.approx(aif.fine_t[1] - aif.fine_t[0], abs=1e-12)
    assert kw["ca"].size == aif.fine_t.size
    plasma_from_dcmri_mM = kw["ca"] * 1000.0 / (1.0 - kw["H"])
    ours = aif.plasma(np.array([bench.DELAY_S]))[0]
    np.testing.assert_allclose(plasma_from_dcmri_mM, ours, rtol=0, atol=1e-12)
    assert ours.max() > 1.0  # the bolus is in the window
    np.testing.assert_allclose(kw["R10"], 1.0 / t10)
    assert kw["r1"] == pytest.approx(4500.0)  # 4.5 /mM/s in /M/s
    assert kw["n0"] == bench.N_BASELINE
    assert bench.frame_times()[bench.N_BASELINE - 1] < bench.DELAY_S  # baseline frames are pre-contrast


def test_dcmri_parameters_convert_to_our_units(bench):
    hf = bench.dcmri_to_ours("HF", {"PS": np.array([0.005]), "vi": np.array([0.3]), "vb": np.array([0.1])})
    assert hf["ktrans_per_min"][0] == pytest.approx(0.3)
    assert hf["ve"][0] == pytest.approx(0.3)
    assert hf["vp"][0] == pytest.approx(0.1 * (1 - bench.HCT))
    two = bench.dcmri_to_ours(
        "2CX", {"Fb": np.array([0.02]), "PS": np.array([0.002]), "vi": np.array([0.2]), "vb": np.array([0.1])}
    )
    fp = 0.02 * (1 - bench.HCT) * 60.0
    assert two["fp_ml_per_min_per_ml"][0] == pytest.approx(fp)
    assert two["ps_ml_per_min_per_ml"][0] == pytest.approx(0.12)
    assert two["ktrans_per_min"][0] == pytest.approx(fp * 0.12 / (fp + 0.12))


def test_noise_free_phantom_round_trips_and_our_fit_recovers_truth(bench):
    """Noise-free signals give back the truth concentrations (1e-9 mM) and our fitted parameters (1 %)."""
    rng = np.random.default_rng(3)
    t_s = bench.frame_times()
    for model in ("extended_tofts", "2cxm"):
        truth = bench.draw_truth(model, 4, rng)
        conc = bench.tissue_truth_mM(model, truth, t_s)
        signal = bench.spgr_signals(conc, truth["t10_s"], np.inf, rng)
        back, ok = dm.signal_to_concentration(
            signal, truth["t10_s"], bench.TR_S, bench.FLIP_DEG, bench.R1_PER_MM_S, bench.N_BASELINE
        )
        assert ok.all()
        np.testing.assert_allclose(back, conc, rtol=0, atol=1e-9)
        fitted = bench.fit_ours(model, signal, truth["t10_s"]).params
        for key in bench.MODELS[model][1]:
            np.testing.assert_allclose(fitted[key], truth[key], rtol=0.01, err_msg=f"{model} {key}")
