"""VOIs drawn on another grid of the same frame of reference (the CT of a PET/CT), placed on the PET grid.

Real data (tests/data/real_dicom/SOURCE.md): the dcmqi liver SEG on a 3-slice GE CT (512x512, 0.810547 mm,
1 mm apart): 107,098 voxels, 36,233 / 35,645 / 35,220 at z -128.69 / -127.69 / -126.69, equal to
liver_seg.nrrd; the dcmqi SEG on a PET grid (128x128, 13 frames): 795 voxels; the dicompyler RTSTRUCT
(contours every 3 mm): BODY on ct.0 = 40,396 pixel centres; Heart on 33 planes.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pydicom
import pytest

from quant.dicom.geometry import Geometry
from quant.dicom.series import read_series
from quant.errors import VoiError
from quant.pet import cli, voi_grid
from quant.pet.phantom import write_seg
from quant.pet.series import read_pet_series
from quant.pet.voi import rtstruct_voi, seg_vois, sphere_voi, voi_metrics
from tests.quant.pet.phantoms import small_phantom

REAL = Path(__file__).resolve().parents[2] / "data" / "real_dicom"


def grid(origin, spacing, shape, frame: str, row=(1.0, 0, 0), col=(0, 1.0, 0)) -> Geometry:
    """A PET-like grid (no files needed): shape (z, y, x), spacing (x, y, z) mm."""
    row, col = np.array(row, float), np.array(col, float)
    normal = np.cross(row, col)
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = row * spacing[0], col * spacing[1], normal * spacing[2]
    affine[:3, 3] = origin
    along = float(np.asarray(origin) @ normal)
    return Geometry(
        origin=np.asarray(origin, float),
        row_direction=row,
        column_direction=col,
        normal=normal,
        spacing=tuple(spacing),
        shape=tuple(shape),
        affine=affine,
        frame_of_reference_uid=frame,
        sop_instance_uids=tuple(f"1.2.3.{k}" for k in range(shape[0])),
        slice_positions=tuple(along + k * spacing[2] for k in range(shape[0])),
    )


def read_nrrd(path: Path) -> np.ndarray:
    """The dcmqi ground-truth NRRD (int16, gzip, x fastest) as [z, y, x]."""
    raw = path.read_bytes()
    header, _sep, body = raw.partition(b"\n\n")
    sizes = next(line for line in header.decode().splitlines() if line.startswith("sizes:")).split()[1:]
    nx, ny, nz = (int(v) for v in sizes)
    return np.frombuffer(gzip.decompress(body), dtype="<i2").reshape(nz, ny, nx)


@pytest.fixture(scope="module")
def ct():
    series = read_series(sorted(str(p) for p in (REAL / "dcmqi" / "ct-3slice").glob("*.dcm")), "CT")
    truth = read_nrrd(REAL / "dcmqi" / "liver_seg.nrrd") == 1
    return series.geometry, truth


def test_liver_seg_on_its_ct_grid(ct):
    geometry, truth = ct
    [voi] = seg_vois(geometry, str(REAL / "dcmqi" / "liver.dcm"))
    full = voi.full(geometry.shape)
    assert voi.name == "Liver" and voi.voxel_count == 107_098
    assert [int(full[k].sum()) for k in range(3)] == [36_233, 35_645, 35_220]  # z -128.69, -127.69, -126.69
    assert geometry.slice_positions == pytest.approx((-128.69, -127.69, -126.69))
    assert np.array_equal(full, truth)


def test_liver_seg_resampled_onto_a_coarser_pet_grid(ct):
    """PET voxels of 3x3 CT pixels centred on CT pixel centres: the expected voxels come from the NRRD."""
    geometry, truth = ct
    ct_dx = geometry.spacing[0]
    origin = geometry.origin + geometry.row_direction * ct_dx + geometry.column_direction * ct_dx
    pet = grid(origin, (3 * ct_dx, 3 * ct_dx, 1.0), (3, 170, 170), geometry.frame_of_reference_uid)
    [voi] = seg_vois(pet, str(REAL / "dcmqi" / "liver.dcm"))
    expected = truth[:, 1:510:3, 1:510:3]
    assert voi.voxel_count == int(expected.sum()) == 11_900
    assert np.array_equal(voi.full(pet.shape), expected)
    assert "frames placed by ImagePositionPatient" in voi.method
    k, j, i = np.meshgrid(np.arange(3), np.arange(170), np.arange(170), indexing="ij")
    suv = (1.0 + 0.01 * i + 0.1 * k).astype(np.float32)  # a known uptake field
    metrics = voi_metrics(suv, voi, pet.spacing)
    assert metrics.suv_mean == pytest.approx(float(suv[expected].mean()), rel=1e-6)
    assert metrics.volume_ml == pytest.approx(11_900 * (3 * ct_dx) ** 2 * 1.0 / 1000, rel=1e-9)


def test_dcmqi_seg_on_a_pet_grid_keeps_its_795_voxels():
    ds = pydicom.dcmread(REAL / "dcmqi" / "sr-example" / "seg.dcm")
    masks, labels, affine = voi_grid.seg_frames(ds)
    [(number, mask)] = masks.items()
    assert labels[number] == "Neoplasm, Primary" and int(mask.sum()) == 795
    spacing = (float(np.linalg.norm(affine[:3, 0])), float(np.linalg.norm(affine[:3, 1])), 3.375)
    assert spacing[0] == pytest.approx(3.537818, abs=1e-6)
    pet = grid(affine[:3, 3], spacing, mask.shape, str(ds.FrameOfReferenceUID))
    [voi] = seg_vois(pet, str(REAL / "dcmqi" / "sr-example" / "seg.dcm"))
    assert voi.voxel_count == 795
    assert voi.voxel_count * np.prod(spacing) / 1000 == pytest.approx(33.58, abs=0.01)  # mL, as in the SR


@pytest.fixture(scope="module")
def rtss():
    ds = pydicom.dcmread(REAL / "dicompyler" / "rtss.dcm")
    frame = str(ds.StructureSetROISequence[0].ReferencedFrameOfReferenceUID)
    return ds, frame


def test_body_contours_on_the_ct_slice(rtss):
    ds, frame = rtss
    ct = pydicom.dcmread(REAL / "dicompyler" / "ct.0.dcm")
    dx = float(ct.PixelSpacing[0])
    single = grid([float(v) for v in ct.ImagePositionPatient], (dx, dx, 3.0), (1, 512, 512), frame)
    voi = rtstruct_voi("BODY", single, str(REAL / "dicompyler" / "rtss.dcm"), "BODY")
    assert voi.voxel_count == 40_396


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def test_heart_on_3_mm_planes_rasterised_on_4_mm_pet_slices(rtss):
    ds, frame = rtss
    number = next(int(r.ROINumber) for r in ds.StructureSetROISequence if r.ROIName == "Heart")
    contours = next(c for c in ds.ROIContourSequence if int(c.ReferencedROINumber) == number).ContourSequence
    areas: dict[float, float] = {}
    for c in contours:
        pts = np.asarray(c.ContourData, float).reshape(-1, 3)
        areas[round(float(pts[0, 2]), 2)] = areas.get(round(float(pts[0, 2]), 2), 0.0) + _polygon_area(pts)
    zs = sorted(areas)
    assert len(zs) == 33 and zs[0] == pytest.approx(-98.44) and zs[-1] == pytest.approx(-2.44)
    trapezoid = sum((areas[a] + areas[b]) / 2 * (b - a) for a, b in zip(zs, zs[1:]))  # mm3 between planes
    pet = grid([-275.0, -524.0, -98.0], (4.296876, 4.296876, 4.0), (24, 128, 128), frame)  # z -98..-6
    voi = rtstruct_voi("Heart", pet, str(REAL / "dicompyler" / "rtss.dcm"), "Heart")
    inside_range = sum(
        (areas[a] + areas[b]) / 2 * (b - a) for a, b in zip(zs, zs[1:]) if a >= -98.44 and b <= -6
    )
    expected_ml = (inside_range + (areas[-5.44] + areas[-2.44]) / 2 * 0.56) / 1000  # slab -98..-6 by planes
    got_ml = voi.voxel_count * 4.296876**2 * 4.0 / 1000
    assert got_ml == pytest.approx(expected_ml, rel=0.05)
    assert trapezoid / 1000 > got_ml * 0.9
    assert "0 PET slices on a contour plane, 24 between planes by shape-based interpolation" in voi.method


def test_contours_outside_the_series_get_a_clear_message(rtss):
    _ds, frame = rtss
    pet = grid([-275.0, -524.0, 300.0], (4.296876, 4.296876, 4.0), (10, 128, 128), frame)
    with pytest.raises(
        VoiError, match=r"Heart'.*contours lie outside the PET series \(contour planes -98.4\.\.-2.4 mm"
    ):
        rtstruct_voi("Heart", pet, str(REAL / "dicompyler" / "rtss.dcm"), "Heart")


def test_interpolated_sphere_contours_match_the_analytic_radius():
    """Circles of a sphere (R 20 mm) on 3 mm planes; PET slices 4 mm apart: each slice between planes gets
    the circle of the linearly interpolated radius (exact for concentric circles)."""
    pet = grid([-40.0, -40.0, -40.0], (2.0, 2.0, 4.0), (21, 41, 41), "1.2.3")
    centre, radius = np.array([0.3, -0.2]), 20.0
    planes, radii = {}, {}
    for z in np.arange(-18.0, 18.1, 3.0):
        r = float(np.sqrt(radius**2 - z**2))
        angle = np.linspace(0, 2 * np.pi, 1440, endpoint=False)
        ring = np.column_stack([centre[0] + r * np.cos(angle), centre[1] + r * np.sin(angle)])
        level = (z + 40.0) / 4.0
        planes[level] = [(ring + 40.0) / 2.0]  # to PET (x, y) index
        radii[level] = r
    mask, method = voi_grid.rasterise_planes(planes, pet, "sphere")
    levels = sorted(planes)
    gy, gx = np.mgrid[0:41, 0:41]
    dist = np.hypot(gx * 2.0 - 40.0 - centre[0], gy * 2.0 - 40.0 - centre[1])
    for k in range(21):
        below = [lv for lv in levels if lv <= k + 1e-9]
        above = [lv for lv in levels if lv >= k - 1e-9]
        if not below or not above:
            assert not mask[k].any()
            continue
        a, b = below[-1], above[0]
        r = radii[a] if a == b else radii[a] + (k - a) / (b - a) * (radii[b] - radii[a])
        assert np.array_equal(mask[k], dist <= r), k
    assert "3 PET slices on a contour plane" in method


def test_pet_suv_with_a_seg_on_another_grid(tmp_path):
    info = small_phantom(tmp_path / "pt")
    other = small_phantom(tmp_path / "ct", shape=(12, 36, 40), frame_of_reference_uid=info.uids["frame"])
    other_geometry = read_pet_series(other.files).geometry
    lesion = next(les for les in info.lesions if les.name == "lesion_a")
    mask = sphere_voi("x", other_geometry, lesion.centre_mm, lesion.radius_mm).full(other_geometry.shape)
    seg = tmp_path / "seg.dcm"
    write_seg(str(seg), other.files, {"lesion_a": mask})
    folder = str(Path(info.files[0]).parent)
    spec = f"S:{lesion.centre_mm[0]},{lesion.centre_mm[1]},{lesion.centre_mm[2]},{lesion.radius_mm}"
    out = cli.run({"series_dir": folder, "seg": str(seg), "sphere": [spec]})
    assert out["vois"]["lesion_a"] == out["vois"]["S"]
    assert out["vois"]["lesion_a"]["suv_mean"] == pytest.approx(lesion.suv, rel=1e-3)
