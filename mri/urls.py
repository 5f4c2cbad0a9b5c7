from django.urls import path

from mri import views

app_name = "mri"

urlpatterns = [
    path("scans/<int:scan_pk>/", views.scan_page, name="scan"),
    path("scans/<int:scan_pk>/jobs/", views.jobs_fragment, name="jobs"),
    path("scans/<int:scan_pk>/upload/", views.series_upload, name="upload"),
    path("scans/<int:scan_pk>/maps/new/", views.job_create, name="job_create"),
    path("jobs/<int:job_pk>/", views.job_fragment, name="job_fragment"),
    path("jobs/<int:job_pk>/rois/new/", views.roi_add, name="roi_add"),
    path("maps/<int:map_pk>/preview.png", views.map_preview, name="map_preview"),
    path("maps/<int:map_pk>/<str:fmt>/", views.map_file, name="map_file"),
]
