"""dce_fit, ivim_fit, dki_fit management commands on CSVs generated in tmp_path (no database)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from quant.mri.aif import parker_plasma_mM
from quant.mri.dce_models import extended_tofts, tofts, two_cxm
from quant.mri.dki import dki_signal
from quant.mri.ivim import ivim_signal

T_S = np.arange(0.0, 300.0, 2.0)
CP = parker_plasma_mM(T_S, delay_s=20.0)


def _write(path: Path, header: str, rows) -> Path:
    path.write_text(header + "\n" + "".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows))
    return path


def _dce_csv(tmp_path: Path, ct: np.ndarray) -> Path:
    return _write(tmp_path / "curve.csv", "t_s,ct_mM,cp_mM", zip(T_S.tolist(), ct.tolist(), CP.tolist()))


def _run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_dce_fit_tofts_prints_ktrans_ve_and_nulls(tmp_path: Path) -> None:
    path = _dce_csv(tmp_path, tofts(T_S / 60, CP, 0.3, 0.4))
    res = _run("dce_fit", str(path), "--model", "tofts", "--json")
    assert res["Ktrans_per_min"] == pytest.approx(0.3, rel=1e-6)
    assert res["ve"] == pytest.approx(0.4, rel=1e-6)
    assert res["vp"] is None and res["Fp_ml_100ml_min"] is None and res["PS_per_min"] is None
    assert res["delay_s"] == 0.0


def test_dce_fit_extended_tofts(tmp_path: Path) -> None:
    path = _dce_csv(tmp_path, extended_tofts(T_S / 60, CP, 0.12, 0.25, 0.06))
    res = _run("dce_fit", str(path), "--model", "extended_tofts", "--json")
    assert (res["Ktrans_per_min"], res["ve"], res["vp"]) == pytest.approx((0.12, 0.25, 0.06), rel=1e-5)


def test_dce_fit_2cxm_prints_fp_ps_and_derived_ktrans(tmp_path: Path) -> None:
    path = _dce_csv(tmp_path, two_cxm(T_S / 60, CP, 30.0, 0.1, 0.2, 0.05))
    res = _run("dce_fit", str(path), "--model", "2cxm", "--json")
    assert res["Fp_ml_100ml_min"] == pytest.approx(30.0, rel=1e-4)
    assert res["PS_per_min"] == pytest.approx(0.1, rel=1e-4)
    assert (res["ve"], res["vp"]) == pytest.approx((0.2, 0.05), rel=1e-4)
    assert res["Ktrans_per_min"] == pytest.approx(0.1 / (0.1 + 0.3) * 0.3, rel=1e-4)


def test_dce_fit_delay_recovers_a_shifted_aif(tmp_path: Path) -> None:
    ct = tofts(T_S / 60, parker_plasma_mM(T_S, delay_s=26.0), 0.3, 0.4)
    res = _run("dce_fit", str(_dce_csv(tmp_path, ct)), "--model", "tofts", "--fit-delay", "--json")
    assert res["delay_s"] == pytest.approx(6.0, abs=1.0)
    assert res["Ktrans_per_min"] == pytest.approx(0.3, rel=0.05)


def test_ivim_fit_on_an_osipi_tissue(tmp_path: Path) -> None:
    data = json.loads(
        (Path(__file__).resolve().parent.parent / "data" / "osipi_ivim" / "generic.json").read_text()
    )
    b, liver = data["config"]["bvalues"], data["Liver"]
    path = _write(tmp_path / "ivim.csv", "b_s_mm2,signal", zip(b, liver["data"]))
    res = _run("ivim_fit", str(path), "--json")
    assert set(res) == {"f", "D_mm2_s", "Dstar_mm2_s", "S0"}
    assert res["f"] == pytest.approx(liver["f"], abs=0.01)
    assert res["D_mm2_s"] == pytest.approx(liver["D"], rel=0.02)
    assert res["Dstar_mm2_s"] == pytest.approx(liver["Dp"], rel=0.1)


def test_ivim_fit_s0_in_signal_units(tmp_path: Path) -> None:
    b = [0, 10, 20, 50, 100, 200, 400, 600, 800, 1000]
    path = _write(tmp_path / "ivim.csv", "b_s_mm2,signal", zip(b, ivim_signal(b, 500.0, 0.15, 0.04, 0.0011)))
    assert _run("ivim_fit", str(path), "--json")["S0"] == pytest.approx(500.0, rel=1e-5)


def test_dki_fit(tmp_path: Path) -> None:
    b = [0, 250, 500, 1000, 1500, 2000]
    path = _write(tmp_path / "dki.csv", "b_s_mm2,signal", zip(b, dki_signal(b, 300.0, 1.2e-3, 0.8)))
    res = _run("dki_fit", str(path), "--json")
    assert (res["D_mm2_s"], res["K"], res["S0"]) == pytest.approx((1.2e-3, 0.8, 300.0), rel=1e-5)


def _error(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command(*args, stdout=StringIO())
    msg = str(exc.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_unknown_model_is_a_one_line_error(tmp_path: Path) -> None:
    path = _dce_csv(tmp_path, tofts(T_S / 60, CP, 0.3, 0.4))
    assert "unknown model 'patlak'" in _error("dce_fit", str(path), "--model", "patlak", "--json")


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "t_s,ct_mM", [(0.0, 0.0), (1.0, 0.1)])
    assert "missing column(s) cp_mM" in _error("dce_fit", str(path), "--model", "tofts")


def test_non_numeric_value_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("b_s_mm2,signal\n0,1.0\n500,abc\n1000,0.3\n")
    assert "line 3, column signal: 'abc' is not a number" in _error("ivim_fit", str(path), "--json")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert "empty file" in _error("dki_fit", str(path), "--json")


def test_header_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("b_s_mm2,signal\n")
    assert "no data rows" in _error("dki_fit", str(path), "--json")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert "file not found" in _error("dce_fit", str(tmp_path / "nope.csv"), "--model", "tofts")


def test_dki_beyond_validity_limit_is_a_command_error(tmp_path: Path) -> None:
    b = [0, 500, 1000, 2000, 3000, 4000]
    path = _write(tmp_path / "dki.csv", "b_s_mm2,signal", zip(b, dki_signal(b, 1.0, 1e-3, 1.0)))
    assert "validity limit" in _error("dki_fit", str(path), "--json")


def test_too_short_dce_curve_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "short.csv", "t_s,ct_mM,cp_mM", [(0, 0, 0), (1, 0.1, 1)])
    assert "at least 4 time points" in _error("dce_fit", str(path), "--model", "tofts")
