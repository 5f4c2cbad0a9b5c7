"""Reads behind the in-browser viewer of a PET scan: the SUV volume and the VOI label map as NIfTI, the VOI list,
and the VOI outlines drawn over the coronal MIP.

The SUV volume is recomputed from the stored, de-identified and checksummed series exactly as the worker does
(`imaging.services.common.suv_volume`), then cached beside the series under a key of its inputs (instance
checksums, SUV parameters, engine version), so a re-processed upload never serves a stale volume.

NIfTI is RAS+: our grids map voxel (x, y, z) to DICOM patient LPS mm, so the NIfTI affine is
``diag(-1, -1, 1, 1) @ affine_lps`` and the data array is ``volume[z, y, x]`` transposed to ``[x, y, z]``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from django.core.files.storage import default_storage
from django.http import Http404

from imaging.models import LinkedCt, Scan, SeriesUpload, UploadState, Voi, VoiSource
from imaging.services.common import _compute, _sha256, geometry_from_json, suv_volume
from imaging.services.processing import ENGINE_VERSION
from imaging.services.vois import voi_mask
from quant.dicom.geometry import Geometry
from quant.dicom.series import read_series
from quant.errors import QuantError
from quant.pet import mip
from quant.pet.series import read_pet_series
from quant.pet.voi import sphere_voi, voi_extent_mm, voi_metrics

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
NIFTI_INTENT_LABEL = 1002


def viewable_upload(scan: Scan) -> SeriesUpload:
    """The scan's newest live upload once processed (what the scan page shows); 404 otherwise."""
    upload = scan.uploads.filter(voided=False).order_by("-created_at", "-id").first()
    if upload is None or upload.state != UploadState.DONE:
        raise Http404("No processed PET series for this scan.")
    return upload


def nifti_bytes(
    volume_zyx: np.ndarray, affine_lps: np.ndarray, *, intent: int = 0, description: str = ""
) -> bytes:
    """Gzipped NIfTI-1 of a (z, y, x) volume on a grid whose affine maps (x, y, z) to LPS mm."""
    data = np.ascontiguousarray(np.transpose(volume_zyx, (2, 1, 0)))
    affine = LPS_TO_RAS @ np.asarray(affine_lps, dtype=float)
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units(xyz="mm")
    image.set_sform(affine, code=1)  # scanner-anatomical
    image.set_qform(affine, code=1)
    if intent:
        image.header.set_intent(intent)
    image.header["descrip"] = description.encode()[:79]
    return gzip.compress(image.to_bytes(), compresslevel=5, mtime=0)


def _cache_key(upload: SeriesUpload, checksums: list[str]) -> str:
    blob = json.dumps([ENGINE_VERSION, checksums, upload.suv_parameters], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _cached(name: str, build) -> bytes:
    path = Path(default_storage.path(name))
    if path.exists():
        return path.read_bytes()
    payload = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)  # atomic: a concurrent reader sees the whole file or none
    return payload


def _verified_paths(instances, what: str) -> list[str]:
    """Storage paths of stored instances (z order), each present with its recorded SHA-256; 404 otherwise."""
    paths = []
    for inst in instances:
        path = default_storage.path(inst.path)
        if not Path(path).exists() or _sha256(Path(path)) != inst.sha256:
            raise Http404(f"{what} does not match its checksum.")
        paths.append(path)
    return paths


def upload_suv(upload: SeriesUpload) -> tuple[np.ndarray, Geometry]:
    """SUVbw volume (z, y, x) of the stored series, computed as the worker computes it; 404 if it cannot be."""
    paths = _verified_paths(upload.instances.order_by("z_index"), "A stored file")
    try:
        series = read_pet_series(paths)
        result = _compute(series, upload.suv_parameters)
    except QuantError as exc:
        raise Http404(f"The stored series cannot be read: {exc}") from exc
    return suv_volume(series, result), series.geometry


def suv_nifti(upload: SeriesUpload) -> bytes:
    checksums = list(upload.instances.order_by("z_index").values_list("sha256", flat=True))
    name = f"{upload.storage_dir}/viewer/suv-{_cache_key(upload, checksums)}.nii.gz"

    def build() -> bytes:
        suv, geometry = upload_suv(upload)
        return nifti_bytes(suv.astype(np.float32), geometry.affine, description="SUVbw (g/mL)")

    return _cached(name, build)


CT_WINDOW_HU = (-160.0, 240.0)  # soft tissue (level 40, width 400)


def linked_ct(upload: SeriesUpload) -> LinkedCt | None:
    """The CT linked to the upload (imaging.services.ct), if any and not voided."""
    return upload.linked_cts.filter(voided=False).order_by("-created_at", "-id").first()


def ct_volume(ct: LinkedCt) -> tuple[np.ndarray, Geometry]:
    """HU volume (z, y, x; RescaleSlope/Intercept applied) of the stored, checksummed CT; 404 if it cannot be."""
    paths = _verified_paths(ct.instances.order_by("z_index"), "A stored CT file")
    try:
        series = read_series(paths, "CT")
    except QuantError as exc:
        raise Http404(f"The stored CT cannot be read: {exc}") from exc
    return series.volume, series.geometry


def ct_nifti(ct: LinkedCt) -> bytes:
    """The linked CT in HU as NIfTI (RAS+, its own affine): int16 when every HU value is a whole number in range,
    else float32; cached beside the CT files under a key of their checksums."""
    checksums = list(ct.instances.order_by("z_index").values_list("sha256", flat=True))
    key = hashlib.sha256(json.dumps(["ct-hu-1", checksums]).encode()).hexdigest()[:24]

    def build() -> bytes:
        hu, geometry = ct_volume(ct)
        whole = np.all(np.isfinite(hu)) and np.array_equal(hu, np.round(hu))
        fits = whole and hu.min(initial=0) >= -32768 and hu.max(initial=0) <= 32767
        data = hu.astype(np.int16) if fits else hu.astype(np.float32)
        return nifti_bytes(data, geometry.affine, description="CT (HU)")

    return _cached(f"{ct.storage_dir}/viewer/ct-{key}.nii.gz", build)


def ct_descriptor(ct: LinkedCt | None, url: str) -> dict[str, Any] | None:
    """The viewer JSON's entry of the linked CT (None: PET alone)."""
    if ct is None:
        return None
    return {
        "url": url,
        "description": ct.series_description,
        "slices": ct.instance_count,
        "shape": ct.geometry.get("shape"),
        "spacing": ct.geometry.get("spacing"),
        "window": list(CT_WINDOW_HU),
        "units": "HU",
        "link_reason": ct.link_reason,
    }


def live_vois(upload: SeriesUpload) -> list[Voi]:
    return list(upload.vois.filter(voided=False).select_related("result").order_by("id"))


def voi_labels_nifti(upload: SeriesUpload) -> bytes:
    """uint16 label map on the PET grid: label k is the k-th VOI of `voi_list` (a later VOI wins an overlap);
    cached under a key of the live VOIs' definitions, so masks are rebuilt from their files only when they change."""
    geometry = geometry_from_json(upload.geometry)
    vois = live_vois(upload)
    definitions = [[v.pk, v.source, v.parameters, v.mask_sha256] for v in vois]
    blob = json.dumps([ENGINE_VERSION, upload.geometry, definitions], sort_keys=True, default=str)
    key = hashlib.sha256(blob.encode()).hexdigest()[:24]

    def build() -> bytes:
        labels = np.zeros(tuple(geometry.shape), dtype=np.uint16)
        for k, voi in enumerate(vois, start=1):
            try:
                mask = voi_mask(voi, geometry).full(geometry.shape)
            except (QuantError, OSError):
                continue  # a mask that cannot be rebuilt is listed (no voxels) but not drawn
            labels[mask] = k
        return nifti_bytes(labels, geometry.affine, intent=NIFTI_INTENT_LABEL, description="VOI labels")

    return _cached(f"{upload.storage_dir}/viewer/vois-{key}.nii.gz", build)


def _mask_extent(voi: Voi, geometry: Geometry) -> dict[str, Any]:
    """Centre and half extent (LPS mm) of a mask VOI: stored with its result by the worker, else rebuilt from the
    mask file (a result from before extents were stored); nothing if it has no voxels."""
    stored = (getattr(voi, "result", None) and voi.result.provenance.get("voi")) or {}
    if "centre_mm" in stored and "half_extent_mm" in stored:
        return {"centre_mm": stored["centre_mm"], "half_extent_mm": stored["half_extent_mm"]}
    try:
        return voi_extent_mm(voi_mask(voi, geometry), geometry)
    except (QuantError, OSError):
        return {}


def voi_list(upload: SeriesUpload) -> list[dict[str, Any]]:
    """Each live VOI with its label value, centre (LPS mm) and radius for spheres, and its stored metrics."""
    geometry = geometry_from_json(upload.geometry)
    rows = []
    for k, voi in enumerate(live_vois(upload), start=1):
        row: dict[str, Any] = {
            "label": k,
            "id": voi.pk,
            "name": voi.name,
            "kind": voi.kind,
            "source": voi.source,
            "voxels": voi.voxel_count,
            "centre_mm": None,
            "radius_mm": None,
            "half_extent_mm": None,
        }
        if voi.source == VoiSource.SPHERE:
            row["centre_mm"] = [float(v) for v in voi.parameters["centre_mm"]]
            row["radius_mm"] = float(voi.parameters["radius_mm"])
            row["half_extent_mm"] = [row["radius_mm"]] * 3
        else:
            row.update(_mask_extent(voi, geometry))
        result = getattr(voi, "result", None)  # a missing result raises an AttributeError subclass
        row["metrics"] = (
            {"suv_max": result.suv_max, "suv_mean": result.suv_mean, "suv_peak": result.suv_peak}
            if result is not None
            else None
        )
        rows.append(row)
    return rows


def _index_ranges(geometry: Geometry, centre_mm: list[float], half_mm: list[float]) -> np.ndarray:
    """(low, high) voxel indices (x, y, z) spanned by the box centre +- half extent (LPS mm), clipped to the grid."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    corners = geometry.patient_to_index(np.asarray(centre_mm) + signs * np.asarray(half_mm))
    nz, ny, nx = geometry.shape
    top = np.array([nx - 1, ny - 1, nz - 1], dtype=float)
    low = np.clip(np.ceil(corners.min(axis=0) - 0.5), 0, top)
    high = np.clip(np.floor(corners.max(axis=0) + 0.5), 0, top)
    return np.stack([low, high])


def mip_overlay(upload: SeriesUpload) -> dict[str, Any] | None:
    """The coronal MIP's size in pixels and each live VOI's outline on it (quant.pet.mip.mip_box), for the page's
    SVG overlay; None when there is no MIP."""
    if not upload.mip_path or not upload.geometry:
        return None
    geometry = geometry_from_json(upload.geometry)
    spacing = tuple(geometry.spacing)
    upscale = int(upload.mip_window.get("upscale", 1))
    nz, _ny, nx = geometry.shape
    boxes = []
    for row in voi_list(upload):
        if row.get("centre_mm") is None:
            continue
        (x0, _y0, z0), (x1, _y1, z1) = _index_ranges(geometry, row["centre_mm"], row["half_extent_mm"])
        left, top, width, height = mip.mip_box((x0, x1), (z0, z1), geometry.shape, spacing, upscale)
        boxes.append(
            {
                "name": row["name"],
                "kind": row["kind"],
                "left": round(left, 1),
                "top": round(top, 1),
                "width": round(width, 1),
                "height": round(height, 1),
                "suv_max": (row["metrics"] or {}).get("suv_max"),
            }
        )
    width, height = nx * upscale, mip.mip_rows(nz, spacing) * upscale
    # Orientation letters in the margin: superior and inferior, the patient's right and left.
    letters = [
        ("S", "superior", width / 2, -6),
        ("I", "inferior", width / 2, height + 18),
        ("R", "patient's right", -11, height / 2),
        ("L", "patient's left", width + 11, height / 2),
    ]
    return {
        "width": width,
        "height": height,
        "boxes": boxes,
        "letters": [{"letter": a, "meaning": m, "x": x, "y": y} for a, m, x, y in letters],
    }


def sphere_preview(upload: SeriesUpload, centre_mm: list[float], radius_mm: float) -> dict[str, Any]:
    """SUV metrics of a sphere VOI not yet saved, on the viewer's SUV volume (float32: within 1e-6 of what the
    worker will store); raises QuantError when the sphere misses the volume."""
    image = nib.Nifti1Image.from_bytes(gzip.decompress(suv_nifti(upload)))
    suv = np.transpose(np.asarray(image.dataobj, dtype=np.float64), (2, 1, 0))
    geometry = geometry_from_json(upload.geometry)
    metrics = voi_metrics(suv, sphere_voi("preview", geometry, centre_mm, radius_mm), tuple(geometry.spacing))
    return {
        "suv_max": metrics.suv_max,
        "suv_mean": metrics.suv_mean,
        "suv_peak": metrics.suv_peak,
        "voxels": metrics.voxel_count,
        "volume_ml": metrics.volume_ml,
    }
