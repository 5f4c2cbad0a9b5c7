"""CD (IHE PDI) and PACS export layouts: DICOMDIR, README.TXT, AUTORUN.INF, sub-folders, files without the
Part 10 preamble. Non-DICOM files are ignored and listed; a DICOM file without preamble is read only after
its first elements validated (random bytes are still refused)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.filebase import DicomBytesIO
from pydicom.fileset import FileSet
from pydicom.filewriter import write_dataset

from quant.dicom.files import inventory, list_dicom_files, pick_series, read_dicom, sniff_raw_dataset
from quant.errors import SeriesError
from quant.pet import cli
from quant.pet.series import read_pet_series
from tests.quant.pet.phantoms import small_phantom

MR = Path(__file__).resolve().parents[2] / "data" / "real_dicom" / "dcm_qa_ts"


def _bare(ds: pydicom.Dataset, implicit: bool = True) -> bytes:
    """The data set alone: no preamble, no DICM, no file meta group (as some PACS exports write)."""
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, implicit
    write_dataset(out, ds)
    return out.getvalue()


def make_cd(root: Path, pet_files: list[str], bare_every: int = 4) -> Path:
    """An IHE PDI-like CD: DICOMDIR + PTxxxxxx/STxxxxxx/SExxxxxx/IMxxxxxx, README.TXT, AUTORUN.INF, viewer."""
    fs = FileSet()
    for k, path in enumerate(pet_files):
        ds = pydicom.dcmread(path)
        ds.SeriesNumber = ds.get("SeriesNumber", 1)  # the SERIES/IMAGE records need them
        ds.InstanceNumber = ds.get("InstanceNumber", k + 1)
        ds.StudyID = ds.get("StudyID", "1")
        fs.add(ds)
    fs.write(root)
    (root / "README.TXT").write_text("Images of the PET/CT examination. Open VIEWER.EXE.\r\n")
    (root / "AUTORUN.INF").write_text("[autorun]\r\nopen=VIEWER\\VIEWER.EXE\r\n")
    (root / "VIEWER").mkdir()
    (root / "VIEWER" / "VIEWER.EXE").write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 8)
    images = sorted(p for p in root.rglob("IM*") if p.is_file())
    for k, image in enumerate(images):
        ds = pydicom.dcmread(image)
        if k % bare_every == 1 and not ds.file_meta.TransferSyntaxUID.is_compressed:
            image.write_bytes(_bare(ds))  # without preamble and meta group (only uncompressed files can be)
    return root


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    info = small_phantom(tmp_path_factory.mktemp("pt"))
    return info, read_pet_series(info.files).volume.copy()


def test_file_without_preamble_is_read_when_valid(tmp_path):
    ds = pydicom.dcmread(MR / "2.dcm")
    for implicit in (True, False):
        bare = tmp_path / f"bare-{implicit}"
        bare.write_bytes(_bare(ds, implicit))
        read = read_dicom(str(bare))
        assert read.file_meta.TransferSyntaxUID == (
            "1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.1"
        )
        assert np.array_equal(read.pixel_array, ds.pixel_array)
    with_meta = tmp_path / "meta-only"
    with_meta.write_bytes((MR / "2.dcm").read_bytes()[132:])  # meta group kept, preamble and DICM cut
    assert int(read_dicom(str(with_meta)).pixel_array.sum()) == 38_036_663


@pytest.mark.parametrize(
    "content",
    [
        b"[autorun]\r\nopen=viewer.exe\r\n",
        b"\x08\x00\x16\x00" + b"\xff" * 60,  # a plausible first tag, then garbage
        bytes(range(256)) * 4,
        b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100\x08\x00\x01\x00UI\x04\x001.2\x00",  # tags not ascending
    ],
)
def test_arbitrary_bytes_are_not_forced(tmp_path, content):
    path = tmp_path / "junk"
    path.write_bytes(content)
    assert sniff_raw_dataset(content[:4096]) is None
    with pytest.raises(SeriesError, match="not a DICOM file"):
        read_dicom(str(path))


def test_cd_layout_is_inventoried_and_gives_the_same_volume(phantom, tmp_path):
    info, volume = phantom
    root = make_cd(tmp_path / "cd", info.files)
    found = inventory(list_dicom_files(str(root)))
    ignored = {Path(p).name: r for p, r in found.ignored}
    assert set(ignored) == {"DICOMDIR", "README.TXT", "AUTORUN.INF", "VIEWER.EXE"}
    assert ignored["DICOMDIR"].startswith("DICOMDIR (media directory")
    assert ignored["README.TXT"].startswith("not a DICOM file")
    assert len(found.dicom) == 12 and found.dicomdir == [str(root / "DICOMDIR")]
    series = read_pet_series(pick_series(found, "PT"))
    assert np.array_equal(series.volume, volume)


def test_pet_suv_on_a_cd_folder(phantom, tmp_path):
    info, _volume = phantom
    root = make_cd(tmp_path / "cd", info.files)
    plain = cli.run({"series_dir": str(Path(info.files[0]).parent), "sphere": ["L:30,-10,-274,14"]})
    on_cd = cli.run({"series_dir": str(root), "sphere": ["L:30,-10,-274,14"]})
    assert on_cd["suv_bw_factor"] == plain["suv_bw_factor"] == pytest.approx(info.suv_bw_factor, rel=1e-9)
    assert on_cd["vois"] == plain["vois"]
    assert sorted(i["file"] for i in on_cd["ignored_files"]) == [
        "AUTORUN.INF",
        "DICOMDIR",
        "README.TXT",
        "VIEWER/VIEWER.EXE",
    ]
    assert plain["ignored_files"] == []


def test_a_damaged_dicom_file_is_refused_not_ignored(phantom, tmp_path):
    info, _volume = phantom
    root = make_cd(tmp_path / "cd", info.files)
    image = sorted(p for p in root.rglob("IM*") if p.is_file())[0]
    image.write_bytes(image.read_bytes()[:300])
    with pytest.raises(SeriesError, match="IM000000: (unreadable DICOM|incomplete DICOM header)"):
        inventory(list_dicom_files(str(root)))
