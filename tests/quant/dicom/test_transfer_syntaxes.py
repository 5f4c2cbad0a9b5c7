"""Every standard transfer syntax decodes with the installed decoders (pylibjpeg plugins, pyjpegls).

Real data: one Siemens MR slice in 9 transfer syntaxes (tests/data/real_dicom/dcm_qa_ts, SOURCE.md):
all decode to the same pixels (sum 38,036,663, SHA-256 of little-endian uint16 e4943a308aba1b65...).
Generated: a PET phantom compressed by dcmtk (dcmcjpeg, dcmcjpls, dcmcrle) and pydicom's JPEG 2000
encoder gives the same volume and SUV factors as the uncompressed files; lossy variants are flagged.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import MPEG2MPML, JPEG2000Lossless

from quant.dicom.pixels import decode_file
from quant.errors import SeriesError
from quant.pet.series import read_pet_series
from quant.pet.suv import compute_suv
from tests.quant.pet.phantoms import small_phantom

TS_DIR = Path(__file__).resolve().parents[2] / "data" / "real_dicom" / "dcm_qa_ts"
EXPECTED_TS = {
    1: "1.2.840.10008.1.2.1",
    2: "1.2.840.10008.1.2",
    3: "1.2.840.10008.1.2.2",
    4: "1.2.840.10008.1.2.5",
    5: "1.2.840.10008.1.2.4.70",
    6: "1.2.840.10008.1.2.4.70",
    7: "1.2.840.10008.1.2.4.80",
    8: "1.2.840.10008.1.2.4.80",
    9: "1.2.840.10008.1.2.4.90",
}


@pytest.fixture(scope="module")
def reference_pixels() -> np.ndarray:
    arr, ts, lossy = decode_file(str(TS_DIR / "1.dcm"))
    assert ts == EXPECTED_TS[1] and lossy is None
    return arr


@pytest.mark.parametrize("number", sorted(EXPECTED_TS))
def test_real_mr_slice_decodes_bit_identically(number, reference_pixels):
    arr, ts, lossy = decode_file(str(TS_DIR / f"{number}.dcm"))
    assert ts == EXPECTED_TS[number]
    assert lossy is None
    assert arr.shape == (384, 384) and arr.dtype == np.uint16
    assert int(arr.sum()) == 38_036_663 and int(arr.min()) == 0 and int(arr.max()) == 2362
    assert hashlib.sha256(arr.astype("<u2").tobytes()).hexdigest().startswith("e4943a308aba1b65")
    assert np.array_equal(arr, reference_pixels)


def _dcmtk(tool: list[str], src: Path, dst: Path) -> None:
    assert shutil.which(tool[0]), f"{tool[0]} (dcmtk) is required"
    subprocess.run([*tool, str(src), str(dst)], check=True, capture_output=True)


@pytest.mark.parametrize(
    ("tool", "tolerance"),
    [(["dcmcjpls", "+en"], 2), (["dcmcjpeg", "+ee"], None)],
    ids=["jpeg-ls-near2", "jpeg-extended-12bit"],
)
def test_lossy_variants_are_flagged_and_within_tolerance(tool, tolerance, reference_pixels, tmp_path):
    out = tmp_path / "lossy.dcm"
    _dcmtk(tool, TS_DIR / "1.dcm", out)
    arr, ts, lossy = decode_file(str(out))
    assert lossy and "lossy" in lossy
    diff = np.abs(arr.astype(np.int32) - reference_pixels.astype(np.int32))
    if tolerance is not None:  # JPEG-LS NEAR=2 guarantees |error| <= 2 per pixel
        assert int(diff.max()) <= tolerance and int(diff.max()) > 0
    else:  # JPEG extended (DCT, default quality): RMS error below 1 % of the 0..2362 range
        rms = float(np.sqrt(np.mean(diff.astype(float) ** 2)))
        assert 0 < rms < 0.01 * 2362


@pytest.fixture(scope="module")
def pet_reference(tmp_path_factory):
    info = small_phantom(tmp_path_factory.mktemp("pt"))
    series = read_pet_series(info.files)
    return info, series.volume.copy(), compute_suv(series.header)


VARIANTS = {
    "jpeg-lossless-sv1": ["dcmcjpeg", "+e1"],
    "jpeg-lossless-p14": ["dcmcjpeg", "+el"],
    "jpeg-ls-lossless": ["dcmcjpls", "+el"],
    "rle": ["dcmcrle"],
}


@pytest.mark.parametrize("variant", [*VARIANTS, "jpeg2000-pydicom", "big-endian-mixed"])
def test_compressed_pet_variants_give_identical_suv(variant, pet_reference, tmp_path):
    info, volume, result = pet_reference
    files = []
    for k, src in enumerate(info.files):
        dst = tmp_path / f"{k:03d}.dcm"
        if variant in VARIANTS:
            _dcmtk(VARIANTS[variant], Path(src), dst)
        elif variant == "jpeg2000-pydicom":
            ds = pydicom.dcmread(src)
            ds.compress(JPEG2000Lossless)
            ds.save_as(dst)
        elif k % 2:  # every other file explicit VR big endian (retired syntax), the rest little endian
            _dcmtk(["dcmconv", "+tb"], Path(src), dst)
        else:
            shutil.copy(src, dst)
        files.append(str(dst))
    series = read_pet_series(files)
    assert not series.lossy
    assert np.array_equal(series.volume, volume)
    again = compute_suv(series.header)
    assert again.suv_bw_factor == result.suv_bw_factor and again.slice_factors == result.slice_factors
    if variant == "big-endian-mixed":
        assert set(series.transfer_syntaxes) == {"1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"}


def test_lossy_pet_series_is_flagged(pet_reference, tmp_path):
    info, _volume, _result = pet_reference
    files = []
    for k, src in enumerate(info.files):
        ds = pydicom.dcmread(src)
        if k == 0:
            ds.LossyImageCompression = "01"
            ds.LossyImageCompressionMethod = "ISO_10918_1"
        dst = tmp_path / f"{k:03d}.dcm"
        ds.save_as(dst)
        files.append(str(dst))
    series = read_pet_series(files)
    assert series.lossy == (
        "LossyImageCompression 01: the pixels were lossy-compressed before (ISO_10918_1)",
    )
    assert any("lossy compression in 1 of 12 files" in w for w in series.warnings)


def test_syntax_without_any_decoder_is_refused(pet_reference, tmp_path):
    from pydicom.encaps import encapsulate

    info, _volume, _result = pet_reference
    files = []
    for k, src in enumerate(info.files):
        ds = pydicom.dcmread(src)
        ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 64])
        ds.file_meta.TransferSyntaxUID = MPEG2MPML
        dst = tmp_path / f"{k:03d}.dcm"
        ds.save_as(dst)
        files.append(str(dst))
    with pytest.raises(SeriesError, match="no decoder is installed"):
        read_pet_series(files)
