"""``manage.py mri_fit`` on generated DICOM series (classic and enhanced) against their known parameters."""

from __future__ import annotations

import json
import os
import shutil

import nibabel as nib
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from quant.mri import phantom_dicom as ph

SHAPE = (4, 3, 2)  # x, y, z; voxel (i, j, k) centre = (-6 + 2i, -4 + 2j, 20 + 3k) mm (LPS)
TIMES = np.arange(0.0, 200.1, 4.0)
DELAY = 21.7
VESSEL = np.zeros(SHAPE, dtype=bool)
VESSEL[0, 0, :] = True


def _regions(a: float, b: float) -> np.ndarray:
    out = np.full(SHAPE, a)
    out[2:] = b
    return out


T10 = _regions(1.4, 0.9)
ETOFTS = {"ktrans_per_min": _regions(0.25, 0.12), "ve": _regions(0.35, 0.2), "vp": _regions(0.04, 0.08)}
TWO_CXM = {
    "fp_per_min": _regions(0.6, 0.3),
    "ps_per_min": _regions(0.15, 0.08),
    "ve": _regions(0.3, 0.2),
    "vp": _regions(0.08, 0.05),
}
B_IVIM = np.array([0, 10, 20, 50, 100, 200, 400, 600, 800, 1000.0])
B_DKI = np.array([0, 500, 1000, 1500, 2000.0])
# VOI spheres (2.1 mm): "near" = voxels i=1 (x -4), "far" = voxels i=3 (x 0); radius covers one voxel per slice.
NEAR = "near:-4,-2,20,0.5"
FAR = "far:0,-2,23,0.5"


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("mri_series")
    out = {}

    def write(name: str, spec: ph.SeriesSpec, **kw) -> None:
        out[name] = str(root / name)
        ph.write_series(spec, out[name], **kw)

    dce = ph.dce_spec("extended_tofts", ETOFTS, t10_s=T10, times_s=TIMES, delay_s=DELAY, vessel=VESSEL)
    write("dce_classic", dce)
    write("vfa_enhanced", ph.vfa_spec(T10), enhanced=True)
    write(
        "cxm_enhanced",
        ph.dce_spec("2cxm", TWO_CXM, t10_s=np.full(SHAPE, 1.2), times_s=TIMES, delay_s=DELAY),
        enhanced=True,
    )
    f, d, ds = _regions(0.1, 0.25), _regions(1.0e-3, 1.6e-3), _regions(0.02, 0.05)
    write("ivim_enhanced", ph.ivim_spec(np.full(SHAPE, 800.0), f, d, ds, B_IVIM), enhanced=True)
    write(
        "dki_philips",
        ph.dki_spec(np.full(SHAPE, 800.0), _regions(0.8e-3, 1.1e-3), _regions(0.9, 0.6), B_DKI),
        vendor_b="philips",
    )
    return out


def _run(*args: str) -> dict:
    from io import StringIO

    buf = StringIO()
    call_command("mri_fit", *args, "--json", stdout=buf)
    return json.loads(buf.getvalue())


def test_extended_tofts_classic_with_vfa_t10(series) -> None:
    out = _run(
        series["dce_classic"],
        "--model",
        "extended_tofts",
        "--vfa-dir",
        series["vfa_enhanced"],
        "--sphere",
        NEAR,
        "--sphere",
        FAR,
    )
    assert out["model"] == "extended_tofts" and set(out) == {"model", "vois", "warnings"}
    near, far = out["vois"]["near"], out["vois"]["far"]
    assert set(near) == {"ktrans_per_min", "ve", "vp", "voxel_count"}
    assert near["voxel_count"] == 1 and far["voxel_count"] == 1
    assert near["ktrans_per_min"] == pytest.approx(0.25, rel=0.01)
    assert near["ve"] == pytest.approx(0.35, rel=0.01)
    assert near["vp"] == pytest.approx(0.04, rel=0.03)
    assert far["ktrans_per_min"] == pytest.approx(0.12, rel=0.01)
    assert far["ve"] == pytest.approx(0.2, rel=0.01)
    assert far["vp"] == pytest.approx(0.08, rel=0.02)


def test_tofts_with_vessel_aif_negative_coordinates_and_nifti_mask(series, tmp_path) -> None:
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[2:, 1:, :] = 1
    path = tmp_path / "far.nii.gz"
    nib.save(nib.Nifti1Image(mask, np.eye(4)), str(path))
    out = _run(
        series["dce_classic"],
        "--model",
        "extended_tofts",
        "--vfa-dir",
        series["vfa_enhanced"],
        "--aif-sphere=-6,-4,21.5,1.6",
        "--mask",
        f"region:{path}",
    )
    region = out["vois"]["region"]
    assert region["voxel_count"] == 8
    assert region["ktrans_per_min"] == pytest.approx(0.12, rel=0.02)
    assert region["ve"] == pytest.approx(0.2, rel=0.02)


def test_2cxm_enhanced_fixed_t10_fit_delay(series) -> None:
    out = _run(series["cxm_enhanced"], "--model", "2cxm", "--t10-ms", "1200", "--fit-delay", "--sphere", NEAR)
    near = out["vois"]["near"]
    assert set(near) == {"fp_ml_per_min_per_ml", "ps_ml_per_min_per_ml", "ve", "vp", "voxel_count"}
    assert near["fp_ml_per_min_per_ml"] == pytest.approx(0.6, rel=0.03)
    assert near["ps_ml_per_min_per_ml"] == pytest.approx(0.15, rel=0.03)
    assert near["ve"] == pytest.approx(0.3, rel=0.03)
    assert near["vp"] == pytest.approx(0.08, rel=0.03)


def test_ivim_enhanced_and_dki_philips_private_b(series) -> None:
    out = _run(series["ivim_enhanced"], "--model", "ivim", "--sphere", NEAR, "--sphere", FAR)
    assert out["vois"]["near"]["f"] == pytest.approx(0.1, abs=0.002)
    assert out["vois"]["far"]["d_mm2_per_s"] == pytest.approx(1.6e-3, rel=0.01)
    assert out["vois"]["far"]["dstar_mm2_per_s"] == pytest.approx(0.05, rel=0.02)
    out = _run(series["dki_philips"], "--model", "dki", "--sphere", NEAR, "--sphere", FAR)
    assert out["vois"]["near"]["d_mm2_per_s"] == pytest.approx(0.8e-3, rel=0.01)
    assert out["vois"]["near"]["k"] == pytest.approx(0.9, abs=0.01)
    assert out["vois"]["far"]["k"] == pytest.approx(0.6, abs=0.01)


def test_default_voi_is_every_voxel_with_signal(series) -> None:
    out = _run(series["dki_philips"], "--model", "dki")
    assert out["vois"]["all"]["voxel_count"] == 24
    assert any("no VOI given" in w for w in out["warnings"])


def test_refusals_are_one_line(series, tmp_path) -> None:
    def refused(*args: str) -> str:
        with pytest.raises(CommandError) as info:
            call_command("mri_fit", *args, "--json")
        assert "\n" not in str(info.value)
        return str(info.value)

    assert "needs b-values" in refused(series["dce_classic"], "--model", "ivim")
    single_b = tmp_path / "single_b"
    ph.write_series(
        ph.ivim_spec(
            np.ones(SHAPE),
            np.zeros(SHAPE),
            np.full(SHAPE, 1e-3),
            np.full(SHAPE, 0.01),
            np.array([800.0, 800.0]),
        ),
        str(single_b),
    )
    assert "single b-value" in refused(str(single_b), "--model", "ivim")
    assert "single b-value" in refused(str(single_b), "--model", "dki")
    single_t = tmp_path / "single_t"
    ph.write_series(
        ph.SeriesSpec(np.ones(SHAPE + (1,)), "one", times_s=np.array([0.0]), tr_ms=4.0, flip_deg=15.0),
        str(single_t),
    )
    assert "single temporal position" in refused(str(single_t), "--model", "tofts", "--t10-ms", "1000")
    no_tr = tmp_path / "no_tr"
    spec = ph.dce_spec(
        "tofts",
        {"ktrans_per_min": np.full(SHAPE, 0.2), "ve": np.full(SHAPE, 0.3)},
        t10_s=np.full(SHAPE, 1.0),
        times_s=TIMES[:20],
        delay_s=10.0,
    )
    spec.tr_ms = None
    spec.flip_deg = None
    ph.write_series(spec, str(no_tr))
    assert "needs --t10-ms" in refused(str(no_tr), "--model", "tofts")
    linear = _run(str(no_tr), "--model", "tofts", "--t10-ms", "1000")
    assert any("linear approximation" in w for w in linear["warnings"])
    mixed = tmp_path / "mixed"
    shutil.copytree(series["dki_philips"], mixed)
    for name in os.listdir(series["ivim_enhanced"]):
        shutil.copy(os.path.join(series["ivim_enhanced"], name), mixed / ("x_" + name))
    assert "files belong to 2 series" in refused(str(mixed), "--model", "dki")
    assert "holds no voxel" in refused(series["dki_philips"], "--model", "dki", "--sphere", "x:500,0,0,1")
    assert "NAME:X,Y,Z,R" in refused(series["dki_philips"], "--model", "dki", "--sphere", "1,2,3,4")


def test_semi_quantitative_maps_match_the_single_curve_engine(series) -> None:
    from quant.mri.dce_semiquant import semi_quantitative
    from quant.mri.dicom_series import read_mr_series
    from quant.mri.pipeline import FitOptions, fit_series

    s = read_mr_series(series["dce_classic"])
    vois = {"v": np.zeros(SHAPE, dtype=bool)}
    vois["v"][3, 1, 1] = True
    out = fit_series(s, FitOptions(model="extended_tofts", t10_ms=900.0), vois)
    truth_ct = ph.tissue_concentration(
        "extended_tofts", {k: v[3:4, 1:2, 1:2] for k, v in ETOFTS.items()}, TIMES, DELAY, 0.45
    )[0, 0, 0]
    ref = semi_quantitative(TIMES, truth_ct, n_baseline=4)
    assert out.maps["iauc60_mM_s"][3, 1, 1] == pytest.approx(ref["iAUC60_mM_s"], rel=0.01)
    assert out.maps["time_to_peak_s"][3, 1, 1] == pytest.approx(ref["time_to_peak_s"], abs=0.01)
    assert out.maps["peak_enhancement_mM"][3, 1, 1] == pytest.approx(ref["peak_mM"], rel=0.01)
    assert out.maps["initial_slope_mM_per_s"][3, 1, 1] == pytest.approx(
        ref["initial_slope_mM_per_s"], rel=0.01
    )


def test_seg_vois(series, tmp_path) -> None:
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    folder = series["dki_philips"]
    src = sorted(
        (pydicom.dcmread(os.path.join(folder, f)) for f in os.listdir(folder) if f.startswith("IM_000_")),
        key=lambda d: float(d.ImagePositionPatient[2]),
    )
    pixels = np.zeros((2, SHAPE[1], SHAPE[0]), dtype=np.uint8)
    pixels[:, :, 2:] = 1  # x >= 2 (the "far" region: D 1.1e-3, K 0.6), both slices
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=1,
            segment_label="lesion T1",
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
    ]
    seg = hd.seg.Segmentation(
        source_images=src,
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=pydicom.uid.generate_uid(),
        series_number=50,
        sop_instance_uid=pydicom.uid.generate_uid(),
        instance_number=1,
        manufacturer="test",
        manufacturer_model_name="test",
        software_versions="1",
        device_serial_number="1",
    )
    path = tmp_path / "seg.dcm"
    seg.save_as(str(path))
    out = _run(folder, "--model", "dki", "--seg", str(path))
    voi = out["vois"]["lesion_T1"]
    assert voi["voxel_count"] == 12
    assert voi["k"] == pytest.approx(0.6, abs=0.01) and voi["d_mm2_per_s"] == pytest.approx(1.1e-3, rel=0.01)
