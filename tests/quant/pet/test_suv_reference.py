"""SUV engine against the IBSI SUV DROs and the cornerstone calculate-suv real-scanner header vectors."""

from __future__ import annotations

import csv
import dataclasses
import json

import nibabel as nib
import numpy as np
import pytest

from quant.pet.series import read_pet_series
from quant.pet.suv import (
    SuvError,
    SuvHeader,
    bsa_dubois_m2,
    compute_suv,
    lbm_james_kg,
    lbm_janmahasatian_kg,
    normalisations,
)
from quant.pet.voi import nifti_voi

from .phantoms import DATA

DRO_DIR = DATA / "ibsi_suv_dro"
CALC_DIR = DATA / "calculate_suv"
DRO_ROWS = list(csv.DictReader((DRO_DIR / "DRO_list.csv").read_text(encoding="utf-8").splitlines()))


def test_all_17_dros_listed():
    assert len(DRO_ROWS) == 17


@pytest.mark.parametrize("row", DRO_ROWS, ids=[r["ID"] for r in DRO_ROWS])
def test_ibsi_dro_suv_within_stated_precision(row):
    """min/median/max SUVbw inside the NIfTI mask (aligned by affine) equal the two-decimal values."""
    folder = DRO_DIR / row["ID"]
    series = read_pet_series(sorted(str(p) for p in (folder / "PT").glob("*.dcm")))
    result = compute_suv(series.header, strict_zr89=False)
    suv = series.volume * np.asarray(result.slice_factors, dtype=np.float32)[:, None, None]
    voi = nifti_voi("dro", series.geometry, str(folder / "mask" / "DRO_mask.nii.gz"))
    values = suv[voi.box][voi.mask]
    measured = (values.min(), np.median(values), values.max())
    expected = tuple(float(row[k]) for k in ("SUVmin_expected", "SUVmed_expected", "SUVmax_expected"))
    if row["ID"] == "DRO_2_3":  # stored values truncated upstream: SOURCE.md allows ~2 %
        assert np.allclose(measured, expected, rtol=0.02, atol=0.011), measured
    else:
        assert np.all(np.abs(np.array(measured) - np.array(expected)) < 0.005), measured


def _header(instances: list[dict]) -> SuvHeader:
    first = instances[0]
    philips = first.get("PhilipsPETPrivateGroup") or {}

    def num(value):
        return None if value in (None, "") else float(value)

    return SuvHeader(
        units=first["Units"],
        decay_correction=first["DecayCorrection"],
        corrected_image=tuple(first["CorrectedImage"]),
        series_date=first["SeriesDate"],
        series_time=first["SeriesTime"],
        acquisition_dates=tuple(i["AcquisitionDate"] for i in instances),
        acquisition_times=tuple(i["AcquisitionTime"] for i in instances),
        frame_reference_times_ms=tuple(num(i.get("FrameReferenceTime")) for i in instances),
        actual_frame_durations_ms=tuple(num(i.get("ActualFrameDuration")) for i in instances),
        patient_weight_kg=num(first.get("PatientWeight")),
        patient_size_m=num(first.get("PatientSize")),
        patient_sex=first.get("PatientSex"),
        total_dose=num(first.get("RadionuclideTotalDose")),
        half_life_s=num(first.get("RadionuclideHalfLife")),
        rp_start_time=first.get("RadiopharmaceuticalStartTime"),
        rp_start_datetime=first.get("RadiopharmaceuticalStartDateTime"),
        ge_post_injection_datetime=first.get("GEPrivatePostInjectionDateTime"),
        philips_suv_factor=num(philips.get("SUVScaleFactor")),
        philips_activity_factor=num(philips.get("ActivityConcentrationScaleFactor")),
    )


EXPECTED = json.loads((CALC_DIR / "expected_suv_factors.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED["real_series_suvbw_first_instance"]))
def test_real_scanner_factor_within_1e6(name):
    instances = json.loads((CALC_DIR / f"{name}-instances.json").read_text())
    result = compute_suv(_header(instances), strict_zr89=False)
    assert abs(result.suv_bw_factor - EXPECTED["real_series_suvbw_first_instance"][name]) <= 1e-6


def test_time_only_injection_is_refused_for_89zr_even_on_real_header():
    instances = json.loads((CALC_DIR / "RADIOPHARM_DATETIME_UNDEFINED-instances.json").read_text())
    header = dataclasses.replace(_header(instances), half_life_s=282276.0)
    with pytest.raises(SuvError, match="no date"):
        compute_suv(header, strict_zr89=True)


def _synthetic(name: str) -> dict:
    return next(c for c in EXPECTED["synthetic_cases"] if c["name"] == name)


def test_synthetic_body_size_formulas():
    case = _synthetic("LBM_grams")["expected"]
    assert lbm_james_kg(75, 185, "M", male_coefficient=120) * 1000 == pytest.approx(
        case["james_M_120"], abs=1e-6
    )
    assert lbm_james_kg(75, 185, "F") * 1000 == pytest.approx(case["james_F_148"], abs=1e-6)
    assert lbm_janmahasatian_kg(75, 185, "M") * 1000 == pytest.approx(case["janmahasatian_M"], abs=1e-6)
    assert lbm_janmahasatian_kg(75, 185, "F") * 1000 == pytest.approx(case["janmahasatian_F"], abs=1e-6)
    bsa = _synthetic("BSA_DuBois_cm2")["expected"]["bsa_cm2"]
    assert bsa_dubois_m2(75, 185) * 1e4 == pytest.approx(bsa, abs=1e-6)


def _gml_like(units: str, weight: float, **extra) -> SuvHeader:
    fields = dict(
        units=units,
        decay_correction="ADMIN",
        corrected_image=("ATTN", "DECY"),
        series_date="20201023",
        series_time="095417",
        acquisition_dates=("20201023",),
        acquisition_times=("095417",),
        patient_weight_kg=weight,
        total_dose=100.0,
        half_life_s=10.0,
        rp_start_datetime="20201023095417",
    )
    fields.update(extra)
    return SuvHeader(**fields)


def test_synthetic_suv_factors_and_normalisations():
    case = _synthetic("BQML_weight_size_sex")["expected"]
    header = _gml_like("BQML", 75.0, patient_size_m=1.85, patient_sex="M")
    result = compute_suv(header, strict_zr89=False)
    # dose 100 Bq (< 1e4) is read as MBq by rule, so undo that scaling for the upstream vector
    assert result.suv_bw_factor * 1e6 == pytest.approx(case["suvbw"], rel=1e-12)
    norms = {n.name: n for n in normalisations(case["suvbw"], 75.0, 1.85, "M")}
    assert case["suvbw"] * norms["suv_bsa"].factor == pytest.approx(case["suvbsa"], abs=1e-6)
    assert case["suvbw"] * norms["sul_janmahasatian"].factor == pytest.approx(
        case["suvlbm_janmahasatian"], abs=1e-6
    )
    assert norms["pct_id_per_kg"].factor == pytest.approx(100 / 75)
    assert "Janmahasatian" in norms["sul_janmahasatian"].formula and "James" in norms["sul_james"].formula


def test_synthetic_cnts_cases():
    suv_case = _synthetic("CNTS_with_SUVScaleFactor")
    header = _gml_like("CNTS", 100.0, philips_suv_factor=0.000551, philips_activity_factor=1.602563)
    assert compute_suv(header, strict_zr89=False).suv_bw_factor == pytest.approx(
        suv_case["expected"]["suvbw"]
    )
    act_case = _synthetic("CNTS_ActivityConcentrationScaleFactor_only")
    header = _gml_like("CNTS", 100.0, philips_suv_factor=0.0, philips_activity_factor=1.602563)
    result = compute_suv(header, strict_zr89=False, injected_mbq=100e-6)
    assert result.suv_bw_factor == pytest.approx(act_case["expected"]["suvbw"], rel=1e-9)
    header = _gml_like("CNTS", 100.0, philips_suv_factor=0.0, philips_activity_factor=0.0)
    with pytest.raises(SuvError, match="CNTS"):
        compute_suv(header, strict_zr89=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"corrected_image": ("ATTN",)}, "DECY"),
        ({"corrected_image": ("DECY",)}, "ATTN"),
        ({"units": "PROPCNTS"}, "Units"),
        ({"patient_weight_kg": 0.0}, "weight"),
        ({"patient_weight_kg": None}, "weight"),
        ({"decay_correction": "START", "rp_start_datetime": "20201023105417"}, "after"),
    ],
)
def test_upstream_error_cases(change, message):
    with pytest.raises(SuvError, match=message):
        change = dict(change)
        units = change.pop("units", "BQML")
        compute_suv(_gml_like(units, 75.0, **change), strict_zr89=False)


def test_dro_nifti_and_rtstruct_masks_differ_as_documented():
    """SOURCE.md: the RTSTRUCT covers 16 slices, the NIfTI mask 18."""
    from quant.pet.voi import rtstruct_roi_names, rtstruct_voi

    folder = DRO_DIR / "DRO_0_0"
    series = read_pet_series(sorted(str(p) for p in (folder / "PT").glob("*.dcm")))
    nifti = nifti_voi("n", series.geometry, str(folder / "mask" / "DRO_mask.nii.gz"))
    rs_path = str(next((folder / "RS").glob("*.dcm")))
    roi = rtstruct_roi_names(rs_path)[0]
    rt = rtstruct_voi("r", series.geometry, rs_path, roi)
    nifti_slices = np.flatnonzero(nifti.full(series.geometry.shape).any(axis=(1, 2)))
    rt_slices = np.flatnonzero(rt.full(series.geometry.shape).any(axis=(1, 2)))
    assert (len(nifti_slices), len(rt_slices)) == (18, 16)
    assert nib.load(str(folder / "mask" / "DRO_mask.nii.gz")).shape == (256, 256, 20)
