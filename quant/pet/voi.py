"""Volumes of interest on the PET grid and their SUV metrics (pure Python, no Django).

A :class:`Voi` is a boolean mask cropped to its bounding box (``box`` = slices into the [z, y, x]
volume), so ten lesions on a whole-body grid cost little memory. Sources: sphere (patient mm),
NIfTI (aligned through its affine, RAS -> LPS), RTSTRUCT (contours rasterised by voxel centre,
even-odd for holes) and DICOM SEG (highdicom). Grids or frames of reference that do not match
the PET series are refused with a :class:`VoiError` stating the reason.

``voi_metrics(suv, voi, spacing)`` gives SUVmax/mean/min/median/SD, SUVpeak (PERCIST: highest
mean within a 1 cm3 sphere, radius 6.204 mm, centred on any VOI voxel, sphere voxels taken from
the whole image; sphere = voxels whose centres lie within the radius), volume, MTV/TLG at 41 % of
SUVmax and at a fixed SUV threshold (default 2.5).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from quant.dicom.geometry import Geometry
from quant.errors import VoiError
from quant.pet import voi_grid

PEAK_RADIUS_MM = 6.204
LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass
class Voi:
    name: str
    box: tuple[slice, slice, slice]
    mask: np.ndarray  # bool, shape of the box
    method: str = ""  # how the mask was placed on the PET grid (kept in each result's provenance)

    @property
    def voxel_count(self) -> int:
        return int(np.count_nonzero(self.mask))

    def full(self, shape: tuple[int, int, int]) -> np.ndarray:
        """The mask on the whole grid."""
        out = np.zeros(shape, dtype=bool)
        out[self.box] = self.mask
        return out


def voi_extent_mm(voi: Voi, geometry: Geometry) -> dict[str, list[float]]:
    """Centre of the VOI's voxels and the half extent of their box (DICOM patient LPS mm, padded by half a voxel),
    for drawing where a VOI lies (MIP overlay, viewer); empty when it has no voxels."""
    if not voi.mask.any():
        return {}
    zyx = np.argwhere(voi.mask) + np.array([voi.box[0].start, voi.box[1].start, voi.box[2].start])
    points = geometry.index_to_patient(zyx[:, ::-1].astype(float))
    low, high = points.min(axis=0), points.max(axis=0)
    half = (high - low) / 2 + np.array(geometry.spacing) / 2
    return {"centre_mm": [float(v) for v in points.mean(axis=0)], "half_extent_mm": [float(v) for v in half]}


def from_full_mask(name: str, mask: np.ndarray, method: str = "") -> Voi:
    """Crop a whole-grid boolean mask to its bounding box."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise VoiError(f"VOI {name!r} is empty on the PET grid")
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hits = np.flatnonzero(mask.any(axis=other))
        box.append(slice(int(hits[0]), int(hits[-1]) + 1))
    box_t = (box[0], box[1], box[2])
    return Voi(name, box_t, mask[box_t].copy(), method)


# ---------------------------------------------------------------- sphere


def sphere_voi(name: str, geometry: Geometry, centre_mm, radius_mm: float) -> Voi:
    """Voxels whose centres lie within ``radius_mm`` of ``centre_mm`` (DICOM patient LPS mm)."""
    if radius_mm <= 0:
        raise VoiError(f"sphere {name!r}: radius must be positive")
    centre = np.asarray(centre_mm, dtype=float)
    idx = geometry.patient_to_index(centre[None, :])[0]
    steps = np.array(geometry.spacing)
    reach = np.ceil(radius_mm / steps) + 1
    nz, ny, nx = geometry.shape
    lo = np.maximum(np.floor(idx - reach), 0).astype(int)
    hi = np.minimum(np.ceil(idx + reach) + 1, [nx, ny, nz]).astype(int)
    if np.any(lo >= hi):
        raise VoiError(f"sphere {name!r} at {centre.tolist()} mm lies outside the PET volume")
    xs, ys, zs = (np.arange(lo[a], hi[a]) for a in range(3))
    gz, gy, gx = np.meshgrid(zs, ys, xs, indexing="ij")
    ijk = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1).astype(float)
    pts = geometry.index_to_patient(ijk)
    inside = (np.sum((pts - centre) ** 2, axis=1) <= radius_mm**2 + 1e-9).reshape(gz.shape)
    if not inside.any():
        raise VoiError(f"sphere {name!r} contains no voxel centre")
    full_box = (slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0]))
    tmp = Voi(name, full_box, inside)
    out = _shrink(tmp)
    out.method = "sphere: voxel centres within the radius (patient mm)"
    return out


def _shrink(voi: Voi) -> Voi:
    inner = from_full_mask(voi.name, voi.mask)
    box = tuple(slice(o.start + i.start, o.start + i.stop) for o, i in zip(voi.box, inner.box))
    return Voi(voi.name, (box[0], box[1], box[2]), inner.mask)


# ---------------------------------------------------------------- NIfTI


def nifti_voi(name: str, geometry: Geometry, path: str) -> Voi:
    """NIfTI mask (non-zero = inside) mapped through its affine; its grid must coincide with the PET grid."""
    import nibabel as nib

    try:
        image = nib.load(path)
        data = np.asanyarray(image.dataobj)
    except Exception as exc:  # nibabel raises many types for bad files
        raise VoiError(f"mask {name!r}: {path} is not a readable NIfTI file") from exc
    data = np.squeeze(data)
    if data.ndim != 3:
        raise VoiError(f"mask {name!r}: expected a 3-D mask, got shape {data.shape}")
    lps = LPS_FROM_RAS @ image.affine
    data = np.asarray(data) != 0
    transform = np.linalg.inv(lps) @ geometry.affine
    same_voxels = np.allclose(np.abs(transform[:3, :3]), np.rint(np.abs(transform[:3, :3])), atol=1e-3)
    if same_voxels and data.shape == tuple(geometry.shape[::-1]):
        mask = _resample_exact(data, lps, geometry, f"NIfTI mask {name!r}")
        return from_full_mask(name, mask, "NIfTI on the PET grid, aligned through its affine (RAS -> LPS)")
    shift = transform[:3, 3]
    if same_voxels and np.max(np.abs(shift - np.rint(shift))) > 1e-2:
        raise VoiError(f"NIfTI mask {name!r}: origin is off the PET voxel centres by a fraction of a voxel")
    mask = voi_grid.sample_nearest(np.transpose(data, (2, 1, 0)), lps, geometry)
    method = (
        f"NIfTI on another grid {data.shape} resampled onto the PET grid through its affine: PET voxel centres "
        "sampled nearest-neighbour in the mask grid"
    )
    return from_full_mask(name, mask, method)


def _resample_exact(data_xyz: np.ndarray, affine: np.ndarray, geometry: Geometry, label: str) -> np.ndarray:
    """Map a mask indexed [i, j, k] with ``affine`` onto the PET grid [z, y, x] by axis permutation/flip."""
    transform = np.linalg.inv(affine) @ geometry.affine  # PET (x,y,z) index -> mask (i,j,k) index
    rot = transform[:3, :3]
    perm = np.rint(rot)
    if np.max(np.abs(rot - perm)) > 1e-3 or not np.allclose(np.abs(perm).sum(axis=0), 1):
        raise VoiError(f"{label}: voxel size or orientation differs from the PET grid (resampling refused)")
    shift = transform[:3, 3]
    if np.max(np.abs(shift - np.rint(shift))) > 1e-2:
        raise VoiError(f"{label}: origin is off the PET voxel centres by a fraction of a voxel")
    nz, ny, nx = geometry.shape
    pet_shape = (nx, ny, nz)
    out_axes, flips = [], []
    for pet_axis in range(3):
        mask_axis = int(np.argmax(np.abs(perm[:, pet_axis])))
        sign = int(perm[mask_axis, pet_axis])
        offset = int(np.rint(shift[mask_axis]))
        n_pet, n_mask = pet_shape[pet_axis], data_xyz.shape[mask_axis]
        expected = 0 if sign > 0 else n_pet - 1
        if offset != expected or n_mask != n_pet:
            raise VoiError(
                f"{label}: grid {data_xyz.shape} does not cover the PET grid {pet_shape} voxel for voxel"
            )
        out_axes.append(mask_axis)
        flips.append(sign < 0)
    arr = np.transpose(data_xyz, out_axes)  # -> PET (x, y, z)
    for axis, flip in enumerate(flips):
        if flip:
            arr = np.flip(arr, axis=axis)
    return np.ascontiguousarray(np.transpose(arr, (2, 1, 0)))


# ---------------------------------------------------------------- RTSTRUCT


def rtstruct_roi_names(path: str) -> list[str]:
    import pydicom

    ds = pydicom.dcmread(path)
    return [str(r.ROIName) for r in ds.get("StructureSetROISequence", [])]


def rtstruct_voi(name: str, geometry: Geometry, path: str, roi_name: str) -> Voi:
    """Rasterise an RTSTRUCT ROI's closed planar contours onto the PET grid by voxel centre."""
    import pydicom

    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:
        raise VoiError(f"RTSTRUCT {path}: not a readable DICOM file") from exc
    if ds.get("Modality") != "RTSTRUCT":
        raise VoiError(f"{path}: Modality is {ds.get('Modality')}, not RTSTRUCT")
    roi = next((r for r in ds.get("StructureSetROISequence", []) if str(r.ROIName) == roi_name), None)
    if roi is None:
        names = ", ".join(str(r.ROIName) for r in ds.get("StructureSetROISequence", []))
        raise VoiError(f"RTSTRUCT has no ROI {roi_name!r} (ROIs: {names or 'none'})")
    frame = str(roi.get("ReferencedFrameOfReferenceUID", ""))
    if frame != geometry.frame_of_reference_uid:
        raise VoiError(f"RTSTRUCT ROI {roi_name!r} is in another frame of reference ({frame or 'none'})")
    contour_item = next(
        (c for c in ds.get("ROIContourSequence", []) if int(c.ReferencedROINumber) == int(roi.ROINumber)),
        None,
    )
    if contour_item is None or not contour_item.get("ContourSequence"):
        raise VoiError(f"RTSTRUCT ROI {roi_name!r} has no contours")
    planes: dict[float, list[np.ndarray]] = {}
    for contour in contour_item.ContourSequence:
        points = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
        idx = geometry.patient_to_index(points)
        if np.ptp(idx[:, 2]) > 0.05:
            raise VoiError(f"RTSTRUCT ROI {roi_name!r}: a contour is not parallel to the PET slices")
        if contour.get("ContourGeometricType", "CLOSED_PLANAR") == "POINT" or len(idx) < 3:
            continue
        level = round(float(np.mean(idx[:, 2])), 3)
        same = next((lv for lv in planes if abs(lv - level) <= voi_grid.PLANE_TOL), level)
        planes.setdefault(same, []).append(idx[:, :2])
    if not planes:
        raise VoiError(f"RTSTRUCT ROI {roi_name!r} has no closed planar contours")
    mask, method = voi_grid.rasterise_planes(planes, geometry, f"RTSTRUCT ROI {roi_name!r}")
    if not mask.any():
        raise VoiError(
            f"RTSTRUCT ROI {roi_name!r}: the contours lie outside the PET series (no voxel centre inside)"
        )
    return from_full_mask(name, mask, method)


# ---------------------------------------------------------------- SEG


def seg_vois(geometry: Geometry, path: str, segment: str | int | None = None) -> list[Voi]:
    """Segments of a DICOM SEG that references the PET instances (same frame of reference and grid)."""
    import highdicom as hd

    try:
        seg = hd.seg.segread(path)
    except Exception as exc:
        raise VoiError(f"{path}: not a readable DICOM SEG") from exc
    if str(seg.FrameOfReferenceUID) != geometry.frame_of_reference_uid:
        raise VoiError(f"SEG is in another frame of reference ({seg.FrameOfReferenceUID})")
    nz, ny, nx = geometry.shape
    referenced = {
        str(i.ReferencedSOPInstanceUID)
        for s in seg.get("ReferencedSeriesSequence", [])
        for i in s.ReferencedInstanceSequence
    }
    known = [uid for uid in geometry.sop_instance_uids if uid in referenced]
    numbers = _segment_numbers(seg, segment)
    if (int(seg.Rows), int(seg.Columns)) != (ny, nx) or not known or len(set(known)) < len(known):
        return _seg_resampled(seg, geometry, numbers)  # (an enhanced PET: its frames share one SOP instance)
    try:
        pixels = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=list(known), segment_numbers=numbers, ignore_spatial_locations=True
        )
    except Exception as exc:
        raise VoiError(f"SEG frames cannot be matched to the PET slices ({exc})") from exc
    index = {uid: k for k, uid in enumerate(geometry.sop_instance_uids)}
    out = []
    for j, number in enumerate(numbers):
        mask = np.zeros(geometry.shape, dtype=bool)
        for i, uid in enumerate(known):
            mask[index[uid]] = pixels[i, :, :, j] > 0
        label = str(seg.get_segment_description(number).segment_label)
        out.append(
            from_full_mask(
                label, mask, "SEG on the PET grid: frames matched to the PET instances they reference"
            )
        )
    return out


def _seg_resampled(seg, geometry: Geometry, numbers: list[int]) -> list[Voi]:
    """A SEG on another grid of the same frame of reference (e.g. the CT of a PET/CT), resampled."""
    masks, labels, affine = voi_grid.seg_frames(seg)
    shape = next(iter(masks.values())).shape
    grid = (
        f"on the PET grid ({shape[0]} of its slices)"
        if _on_pet_voxels(affine, geometry)
        else f"on another grid ({shape[2]}x{shape[1]}, {shape[0]} slices) in the same frame of reference"
    )
    method = (
        f"SEG {grid}: frames placed by ImagePositionPatient, PET voxel centres sampled nearest-neighbour in the "
        "SEG grid"
    )
    out = []
    for number in numbers:
        if number not in masks:
            raise VoiError(f"SEG segment {number} has no frame")
        mask = voi_grid.sample_nearest(masks[number], affine, geometry)
        if not mask.any():
            raise VoiError(f"SEG segment {labels.get(number, number)!r} lies outside the PET series")
        out.append(from_full_mask(labels.get(number, str(number)), mask, method))
    return out


def _on_pet_voxels(affine: np.ndarray, geometry: Geometry, atol: float = 1e-3) -> bool:
    """The SEG's voxels are PET voxels: same axes and spacing, its origin a PET voxel centre."""
    if not np.allclose(affine[:3, :3], geometry.affine[:3, :3], atol=atol):
        return False
    origin = np.linalg.solve(geometry.affine, affine[:, 3])[:3]
    return bool(np.allclose(origin, np.rint(origin), atol=atol))


def _segment_numbers(seg, segment: str | int | None) -> list[int]:
    numbers = list(seg.segment_numbers)
    if segment is None:
        return numbers
    for number in numbers:
        if segment == number or str(seg.get_segment_description(number).segment_label) == str(segment):
            return [number]
    raise VoiError(f"SEG has no segment {segment!r}")


# ---------------------------------------------------------------- metrics


def peak_kernel(spacing: tuple[float, float, float], radius_mm: float = PEAK_RADIUS_MM) -> np.ndarray:
    """Boolean [z, y, x] kernel of voxel offsets whose centres lie within ``radius_mm``."""
    sx, sy, sz = spacing
    rz, ry, rx = (int(math.floor(radius_mm / s)) for s in (sz, sy, sx))
    dz, dy, dx = np.mgrid[-rz : rz + 1, -ry : ry + 1, -rx : rx + 1]
    return (dx * sx) ** 2 + (dy * sy) ** 2 + (dz * sz) ** 2 <= radius_mm**2 + 1e-9


def _local_means(region: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Mean of ``region`` over ``kernel`` around every voxel; voxels beyond the region edge are not counted."""
    pad = [k // 2 for k in kernel.shape]
    padded = np.pad(region, [(p, p) for p in pad])
    inside = np.pad(np.ones(region.shape), [(p, p) for p in pad])
    sums = np.zeros(region.shape)
    counts = np.zeros(region.shape)
    nz, ny, nx = region.shape
    for dz, dy, dx in np.argwhere(kernel):
        window = (slice(dz, dz + nz), slice(dy, dy + ny), slice(dx, dx + nx))
        sums += padded[window]
        counts += inside[window]
    return sums / counts


def suv_peak(suv: np.ndarray, voi: Voi, spacing: tuple[float, float, float]) -> float:
    """Highest local mean within a 1 cm3 sphere centred on any VOI voxel (sphere voxels from the whole image)."""
    kernel = peak_kernel(spacing)
    pad = [k // 2 for k in kernel.shape]
    lo = [max(b.start - p, 0) for b, p in zip(voi.box, pad)]
    hi = [min(b.stop + p, n) for b, p, n in zip(voi.box, pad, suv.shape)]
    region = np.asarray(suv[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], dtype=np.float64)
    means = _local_means(region, kernel)
    inner = tuple(slice(b.start - low, b.stop - low) for b, low in zip(voi.box, lo))
    return float(np.max(means[inner][voi.mask]))


@dataclass
class VoiMetrics:
    suv_max: float
    suv_mean: float
    suv_min: float
    suv_median: float
    suv_sd: float
    suv_peak: float
    volume_ml: float
    voxel_count: int
    mtv41_ml: float
    tlg41: float
    mtv_fixed_ml: float
    tlg_fixed: float
    fixed_threshold: float

    def to_dict(self) -> dict:
        return asdict(self)


def voi_metrics(
    suv: np.ndarray, voi: Voi, spacing: tuple[float, float, float], fixed_threshold: float = 2.5
) -> VoiMetrics:
    """SUV statistics of one VOI (SD is the population SD, ddof=0)."""
    values = np.asarray(suv[voi.box], dtype=np.float64)[voi.mask]
    if values.size == 0:
        raise VoiError(f"VOI {voi.name!r} is empty")
    voxel_ml = spacing[0] * spacing[1] * spacing[2] / 1000.0
    vmax = float(values.max())
    mtv41, tlg41 = _mtv(values, 0.41 * vmax, voxel_ml)
    mtv_fixed, tlg_fixed = _mtv(values, fixed_threshold, voxel_ml)
    return VoiMetrics(
        suv_max=vmax,
        suv_mean=float(values.mean()),
        suv_min=float(values.min()),
        suv_median=float(np.median(values)),
        suv_sd=float(values.std()),
        suv_peak=suv_peak(suv, voi, spacing),
        volume_ml=values.size * voxel_ml,
        voxel_count=int(values.size),
        mtv41_ml=mtv41,
        tlg41=tlg41,
        mtv_fixed_ml=mtv_fixed,
        tlg_fixed=tlg_fixed,
        fixed_threshold=fixed_threshold,
    )


def _mtv(values: np.ndarray, threshold: float, voxel_ml: float) -> tuple[float, float]:
    above = values[values >= threshold]
    if above.size == 0:
        return 0.0, 0.0
    mtv = above.size * voxel_ml
    return mtv, mtv * float(above.mean())


def uptake_ratio(tumour: float, reference: float, label: str = "reference") -> float:
    """Tumour-to-reference ratio (e.g. SUVmax lesion / SUVmean blood pool or liver)."""
    if not reference or reference <= 0:
        raise VoiError(f"{label} uptake must be positive to form a ratio")
    return tumour / reference


def tumour_to_blood(tumour: VoiMetrics, blood: VoiMetrics, use: str = "suv_max") -> float:
    """Tumour (``use`` metric) over blood-pool SUVmean."""
    return uptake_ratio(getattr(tumour, use), blood.suv_mean, "blood-pool")


def tumour_to_liver(tumour: VoiMetrics, liver: VoiMetrics, use: str = "suv_max") -> float:
    """Tumour (``use`` metric) over liver SUVmean (PERCIST reference: 3 cm sphere, right lobe)."""
    return uptake_ratio(getattr(tumour, use), liver.suv_mean, "liver")
