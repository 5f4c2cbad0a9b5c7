"""The scan page's viewer data: SUV volume and VOI label map as NIfTI, the VOI list as JSON (site-scoped reads)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import reverse

from imaging import selectors, viewer
from quant.errors import QuantError


def _nifti(payload: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(payload, content_type="application/gzip")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def scan_viewer_suv(request: HttpRequest, scan_pk: int) -> HttpResponse:
    """The processed scan's SUVbw volume (float32 NIfTI-1, RAS+ affine, gzipped)."""
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return _nifti(viewer.suv_nifti(viewer.viewable_upload(scan)), f"scan-{scan.pk}-suv.nii.gz")


def scan_viewer_ct(request: HttpRequest, scan_pk: int) -> HttpResponse:
    """The CT linked to the processed scan's series, in HU (NIfTI-1, RAS+ with its own affine, gzipped); 404
    when no CT is linked."""
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    ct = viewer.linked_ct(viewer.viewable_upload(scan))
    if ct is None:
        raise Http404("No CT is linked to this scan's PET series.")
    return _nifti(viewer.ct_nifti(ct), f"scan-{scan.pk}-ct.nii.gz")


def scan_viewer_voi_labels(request: HttpRequest, scan_pk: int) -> HttpResponse:
    """Every live VOI as one label map on the PET grid (label k = the k-th entry of the VOI list)."""
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return _nifti(viewer.voi_labels_nifti(viewer.viewable_upload(scan)), f"scan-{scan.pk}-vois.nii.gz")


def scan_viewer_vois(request: HttpRequest, scan_pk: int) -> HttpResponse:
    """The VOI list (labels, names, centres in LPS mm, sphere radii, metrics) and the display window."""
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    upload = viewer.viewable_upload(scan)
    return JsonResponse(
        {
            "vois": viewer.voi_list(upload),
            "window": upload.mip_window,
            "suv_max": upload.suv_summary.get("suv_max"),
            "ct": viewer.ct_descriptor(
                viewer.linked_ct(upload), reverse("imaging:scan_viewer_ct", kwargs={"scan_pk": scan.pk})
            ),
        }
    )


def scan_viewer_sphere_preview(request: HttpRequest, scan_pk: int) -> HttpResponse:
    """Metrics of a sphere VOI before it is saved: GET x, y, z (LPS mm) and r (mm); 400 with field errors."""
    scan = selectors.scan_get(user=request.user, pk=scan_pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    values, errors = {}, {}
    for name in ("x", "y", "z", "r"):
        try:
            values[name] = float(request.GET.get(name, ""))
        except ValueError:
            errors[name] = ["a number is required"]
    if not errors and not 0 < values["r"] <= 100:
        errors["r"] = ["the radius must be above 0 and at most 100 mm"]
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    upload = viewer.viewable_upload(scan)
    try:
        metrics = viewer.sphere_preview(upload, [values["x"], values["y"], values["z"]], values["r"])
    except QuantError as exc:
        return JsonResponse({"errors": {"__all__": [str(exc)]}}, status=400)
    return JsonResponse({"metrics": metrics, "saved": False})
