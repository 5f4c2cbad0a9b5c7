from django.urls import path

from lesions import views, views_mri_maps

app_name = "lesions"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("participants/<int:participant_pk>/", views.participant_page, name="participant"),
    path("participants/<int:participant_pk>/lesions/new/", views.lesion_new, name="lesion_new"),
    path("participants/<int:participant_pk>/assessments/new/", views.assessment_new, name="assessment_new"),
    path("participants/<int:participant_pk>/mri/", views.parameters_page, name="parameters"),
    path("participants/<int:participant_pk>/mri/new/", views.parameters_new, name="parameters_new"),
    path("participants/<int:participant_pk>/mri/curve/", views.curve_new, name="curve_new"),
    path("participants/<int:participant_pk>/mri/voxelwise/", views.voxelwise_new, name="voxelwise_new"),
    path("participants/<int:participant_pk>/masks/new/", views.mask_new, name="mask_new"),
    path("participants/<int:participant_pk>/plots/<str:field>.png", views.parameter_plot, name="plot"),
    path("participants/<int:participant_pk>/export/<str:what>.csv", views.export_csv, name="export"),
    path("lesion/<int:lesion_pk>/", views.lesion_page, name="lesion"),
    path("lesion/<int:lesion_pk>/edit/", views.lesion_edit, name="lesion_edit"),
    path("lesion/<int:lesion_pk>/mri-maps/", views_mri_maps.lesion_map_roi, name="lesion_map_roi"),
    path("assessments/<int:assessment_pk>/", views.assessment_page, name="assessment"),
    path("assessments/<int:assessment_pk>/preview/", views.assessment_preview, name="assessment_preview"),
    path("assessments/<int:assessment_pk>/edit/", views.assessment_edit, name="assessment_edit"),
    path("mri/<int:paramset_pk>/", views.parameter_set_page, name="parameter_set"),
    path("masks/<int:analysis_pk>/", views.mask_analysis_page, name="mask_analysis"),
    path("derived/<int:derived_pk>/<str:what>/", views.derived_file, name="derived_file"),
]
