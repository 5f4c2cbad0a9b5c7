from django.urls import path

from imaging import viewer_views, views

app_name = "imaging"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("scans/<int:scan_pk>/", views.scan_detail, name="scan_detail"),
    path("scans/<int:scan_pk>/state/", views.scan_state, name="scan_state"),
    path("scans/<int:scan_pk>/mip.png", views.scan_mip, name="scan_mip"),
    path("scans/<int:scan_pk>/viewer/suv.nii.gz", viewer_views.scan_viewer_suv, name="scan_viewer_suv"),
    path("scans/<int:scan_pk>/viewer/ct.nii.gz", viewer_views.scan_viewer_ct, name="scan_viewer_ct"),
    path(
        "scans/<int:scan_pk>/viewer/vois.nii.gz",
        viewer_views.scan_viewer_voi_labels,
        name="scan_viewer_voi_labels",
    ),
    path("scans/<int:scan_pk>/viewer/vois.json", viewer_views.scan_viewer_vois, name="scan_viewer_vois"),
    path(
        "scans/<int:scan_pk>/viewer/sphere-preview.json",
        viewer_views.scan_viewer_sphere_preview,
        name="scan_viewer_sphere_preview",
    ),
    path("scans/<int:scan_pk>/upload/", views.scan_upload, name="scan_upload"),
    path("scans/<int:scan_pk>/ct/", views.scan_ct_upload, name="scan_ct_upload"),
    path("scans/<int:scan_pk>/acquired/", views.scan_mark_acquired, name="scan_mark_acquired"),
    path(
        "scans/<int:scan_pk>/uploads/<int:upload_pk>/override/",
        views.upload_override,
        name="upload_override",
    ),
    path("scans/<int:scan_pk>/vois/sphere/", views.voi_sphere_new, name="voi_sphere_new"),
    path("scans/<int:scan_pk>/vois/file/", views.voi_file_new, name="voi_file_new"),
    path(
        "scans/<int:scan_pk>/findings/<int:finding_pk>/acknowledge/",
        views.finding_acknowledge,
        name="finding_acknowledge",
    ),
    path("participants/<int:participant_pk>/distribution/", views.distribution, name="distribution"),
    path(
        "participants/<int:participant_pk>/distribution.png",
        views.distribution_plot,
        name="distribution_plot",
    ),
    path(
        "participants/<int:participant_pk>/distribution.csv", views.distribution_csv, name="distribution_csv"
    ),
]
