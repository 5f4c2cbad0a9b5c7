"""Reading vendor MR DICOM: b-values (standard, GE, Philips private), enhanced multi-frame, temporal order."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pydicom
import pytest

from quant.errors import MixedSeriesError, SeriesError
from quant.mri import phantom_dicom as ph
from quant.mri.dicom_series import read_mr_series
from quant.mri.dicom_tags import diffusion

REAL = os.path.join(os.path.dirname(__file__), "..", "..", "data", "real_dicom_mri")


def test_philips_classic_dwi_b_values_and_directions() -> None:
    s = read_mr_series(os.path.join(REAL, "philips_dwi"))
    assert s.data.shape == (112, 112, 1, 17)
    assert not s.enhanced
    b = np.sort(s.b_values)
    assert b[0] == 0.0
    assert b[1:5] == pytest.approx([0.001, 0.002, 0.003, 0.004], abs=1e-6)
    assert np.all(b[5:] == 1000.0) and b.size == 17
    assert s.tr_ms == pytest.approx(4175.67, abs=0.01)
    b1000 = s.directions[s.b_values == 1000.0]
    assert len({tuple(np.round(d, 4)) for d in b1000}) == 12  # twelve distinct directions
    assert s.directions[s.b_values == 0.0][0] == pytest.approx([0.57735] * 3, abs=1e-4)
    assert any("LICENSE" in w for w in s.warnings)  # non-DICOM file skipped, said so


def test_philips_private_b_value_agrees_with_standard_tag() -> None:
    for name in ("IM_0002", "IM_0014"):
        ds = pydicom.dcmread(os.path.join(REAL, "philips_dwi", name))
        standard = float(ds[0x0018, 0x9087].value)
        del ds[0x0018, 0x9087]
        del ds[0x0018, 0x9089]
        b, _ = diffusion(ds)
        assert b == pytest.approx(standard, rel=1e-6)


def test_ge_b0_from_private_tag_when_standard_tag_is_absent() -> None:
    s = read_mr_series(os.path.join(REAL, "ge_dwi"))
    assert s.data.shape == (256, 256, 1, 7)
    assert sorted(s.b_values.tolist()) == [0.0] + [1000.0] * 6


def test_siemens_xa30_enhanced_dwi_per_frame_b_values() -> None:
    s = read_mr_series(os.path.join(REAL, "siemens_xa30_dwi"))
    assert s.enhanced and s.data.shape == (72, 72, 39, 2)
    assert s.b_values.tolist() == [0.0, 2500.0]
    assert s.directions[1] == pytest.approx([0.9999988, 0.0, 0.0016], abs=1e-5)
    assert s.tr_ms == 3516.0 and s.flip_deg[0] == 78.0
    assert s.affine[2, 2] == pytest.approx(3.0, abs=0.01)  # 3 mm slices


def test_siemens_xa10_enhanced_dynamic_temporal_order() -> None:
    s = read_mr_series(os.path.join(REAL, "siemens_xa10_dynamic"))
    assert s.data.shape == (64, 64, 6, 4)
    assert s.times_s == pytest.approx([0.0, 0.5, 1.0, 1.5], abs=1e-3)
    assert s.tr_ms == 500.0


@pytest.mark.parametrize("enhanced", [False, True])
def test_generated_dce_round_trip(tmp_path, enhanced: bool) -> None:
    shape = (3, 2, 3)
    vol = np.arange(np.prod(shape), dtype=float).reshape(shape) + 10
    times = np.array([0.0, 4.0, 8.0, 12.5])
    spec = ph.SeriesSpec(vol[..., None] * (1 + np.arange(4)), "dyn", times_s=times, tr_ms=4.0, flip_deg=12.0)
    ph.write_series(spec, str(tmp_path), enhanced=enhanced)
    s = read_mr_series(str(tmp_path))
    assert s.enhanced is enhanced
    assert s.times_s == pytest.approx(times, abs=1e-3)
    assert s.tr_ms == 4.0 and s.flip_deg.tolist() == [12.0] * 4
    np.testing.assert_allclose(s.data, spec.volumes, rtol=2e-4)
    centre = s.affine @ np.array([2, 1, 2, 1.0])
    assert centre[:3] == pytest.approx(ph.voxel_centre_mm(2, 1, 2))


def test_generated_vfa_enhanced_per_frame_flip_angles(tmp_path) -> None:
    spec = ph.vfa_spec(np.full((2, 2, 1), 1.1), flips_deg=(3.0, 9.0, 15.0))
    ph.write_series(spec, str(tmp_path), enhanced=True)
    s = read_mr_series(str(tmp_path))
    assert s.flip_deg.tolist() == [3.0, 9.0, 15.0]


def test_mixed_series_refused_with_what_they_are(tmp_path) -> None:
    shape = (2, 2, 1)
    ph.write_series(ph.vfa_spec(np.full(shape, 1.0), flips_deg=(3.0, 9.0)), str(tmp_path / "a"))
    ph.write_series(ph.vfa_spec(np.full(shape, 1.0), flips_deg=(5.0, 7.0)), str(tmp_path / "b"))
    for f in os.listdir(tmp_path / "b"):
        shutil.copy(tmp_path / "b" / f, tmp_path / "a" / ("b_" + f))
    with pytest.raises(MixedSeriesError, match="files belong to 2 series"):
        read_mr_series(str(tmp_path / "a"))
    both = read_mr_series(str(tmp_path / "a"), allow_several_series=True)
    assert both.flip_deg.tolist() == [3.0, 5.0, 7.0, 9.0]


def test_incomplete_series_refused(tmp_path) -> None:
    spec = ph.SeriesSpec(np.ones((2, 2, 2, 2)), "dyn", times_s=np.array([0.0, 5.0]), tr_ms=4.0, flip_deg=10.0)
    paths = ph.write_series(spec, str(tmp_path))
    os.remove(paths[-1])
    with pytest.raises(SeriesError, match="different numbers of frames"):
        read_mr_series(str(tmp_path))


def test_non_mr_refused(tmp_path) -> None:
    paths = ph.write_series(ph.vfa_spec(np.full((2, 2, 1), 1.0), flips_deg=(3.0, 9.0)), str(tmp_path))
    ds = pydicom.dcmread(paths[0])
    ds.Modality = "PT"
    ds.save_as(paths[0])
    with pytest.raises(SeriesError, match="expected MR"):
        read_mr_series(str(tmp_path))
