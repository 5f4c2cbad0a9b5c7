"""IVIM fits against the OSIPI TF2.4 generic.json tissues (tests/data/osipi_ivim/SOURCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from quant.errors import QuantInputError
from quant.mri.ivim import fit_ivim, fit_ivim_segmented, ivim_signal

DATA = json.loads((Path(__file__).resolve().parents[2] / "data" / "osipi_ivim" / "generic.json").read_text())
BVALUES = np.array(DATA["config"]["bvalues"])
TISSUES = {k: v for k, v in DATA.items() if k != "config"}
# OSIPI default criterion: rtol 0.1 for all; atol f 0.2, D 5e-4, D* 0.1.
TOL = {"f": (0.2, 0.1), "D_mm2_s": (5e-4, 0.1), "Dstar_mm2_s": (0.1, 0.1)}


def _refs(tissue: dict) -> dict[str, float]:
    return {"f": tissue["f"], "D_mm2_s": tissue["D"], "Dstar_mm2_s": tissue["Dp"]}


def test_generic_json_holds_14_tissues() -> None:
    assert len(TISSUES) == 14


@pytest.mark.parametrize("name", sorted(TISSUES))
def test_full_fit_passes_osipi_tolerances(name: str) -> None:
    res = fit_ivim(BVALUES, TISSUES[name]["data"]).as_dict()
    for key, ref in _refs(TISSUES[name]).items():
        atol, rtol = TOL[key]
        assert abs(res[key] - ref) <= atol + rtol * abs(ref), (key, res[key], ref)


@pytest.mark.parametrize("name", sorted(TISSUES))
def test_full_fit_is_much_tighter_than_osipi_tolerances_at_this_noise(name: str) -> None:
    """Noise SD 0.0005: f within 0.01, D within 2 %, D* within 10 % (catches a wrong model early)."""
    res = fit_ivim(BVALUES, TISSUES[name]["data"])
    ref = _refs(TISSUES[name])
    assert res.f == pytest.approx(ref["f"], abs=0.01)
    assert res.D_mm2_s == pytest.approx(ref["D_mm2_s"], rel=0.02)
    assert res.Dstar_mm2_s == pytest.approx(ref["Dstar_mm2_s"], rel=0.10)
    assert pytest.approx(1.0, abs=0.01) == res.S0


def test_segmented_fit_underestimates_f_in_pericardium_and_full_fit_corrects_it() -> None:
    tissue = TISSUES["pericardium"]
    seg = fit_ivim_segmented(BVALUES, tissue["data"])
    full = fit_ivim(BVALUES, tissue["data"])
    assert seg.f < tissue["f"] - 0.01
    assert abs(full.f - tissue["f"]) < abs(seg.f - tissue["f"])


def test_s0_is_returned_in_signal_units() -> None:
    s = ivim_signal(BVALUES, 1234.0, 0.2, 0.05, 0.0012)
    res = fit_ivim(BVALUES, s)
    assert pytest.approx(1234.0, rel=1e-6) == res.S0
    assert (res.f, res.Dstar_mm2_s, res.D_mm2_s) == pytest.approx((0.2, 0.05, 0.0012), rel=1e-5)


def test_bad_signal_is_refused() -> None:
    with pytest.raises(QuantInputError, match="positive"):
        fit_ivim(BVALUES, np.r_[1.0, np.zeros(BVALUES.size - 1)])
    with pytest.raises(QuantInputError, match="same length"):
        fit_ivim(BVALUES, [1.0, 0.9])
