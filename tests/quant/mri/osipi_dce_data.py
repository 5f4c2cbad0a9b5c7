"""Load the OSIPI DCE reference curves (tests/data/osipi_dce, see SOURCE.md there)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "data" / "osipi_dce"

# OSIPI pass criterion |fit - ref| <= atol + rtol |ref| (SOURCE.md).
TOL = {
    "Ktrans_per_min": (0.005, 0.1),
    "PS_per_min": (0.005, 0.1),
    "ve": (0.05, 0.0),
    "vp": (0.025, 0.0),
    "Fp_ml_100ml_min": (5.0, 0.1),
    "delay_s": (1.0, 0.0),
}


@dataclass(frozen=True)
class Case:
    """One reference curve with its true parameters (our names)."""

    label: str
    t_s: np.ndarray
    ct: np.ndarray
    cp: np.ndarray
    ref: dict[str, float]


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def _arr(text: str) -> np.ndarray:
    return np.array(text.split(), dtype=float)


def tofts_cases() -> list[Case]:
    return [
        Case(
            r["label"],
            _arr(r["t"]),
            _arr(r["C"]),
            _arr(r["ca"]),
            {"Ktrans_per_min": float(r["Ktrans"]), "ve": float(r["ve"])},
        )
        for r in _rows("dce_DRO_data_tofts.csv")
    ]


def extended_tofts_cases() -> list[Case]:
    return [
        Case(
            r["label"],
            _arr(r["t"]),
            _arr(r["C"]),
            _arr(r["ca"]),
            {"Ktrans_per_min": float(r["Ktrans"]), "ve": float(r["ve"]), "vp": float(r["vp"])},
        )
        for r in _rows("dce_DRO_data_extended_tofts.csv")
    ]


def two_cxm_cases() -> list[Case]:
    return [
        Case(
            f"{r['label']}_fp{r['fp']}_ps{r['ps']}_ve{r['ve']}_vp{r['vp']}",
            _arr(r["t"]),
            _arr(r["C_t"]),
            _arr(r["cp_aif"]),
            {
                "Fp_ml_100ml_min": float(r["fp"]),
                "PS_per_min": float(r["ps"]),
                "ve": float(r["ve"]),
                "vp": float(r["vp"]),
            },
        )
        for r in _rows("2cxm_sd_0.001_delay_0.csv")
    ]


def failures(fit: dict[str, float | None], ref: dict[str, float]) -> list[str]:
    """Parameters outside OSIPI's tolerance, as readable strings (empty list = pass)."""
    bad = []
    for key, true in ref.items():
        atol, rtol = TOL[key]
        got = fit[key]
        if got is None or abs(got - true) > atol + rtol * abs(true):
            bad.append(f"{key}: fit {got} vs ref {true} (tol {atol} + {rtol}*|ref|)")
    return bad
