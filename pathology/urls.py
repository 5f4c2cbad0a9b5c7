from django.urls import path

from pathology import analysis_views, views

app_name = "pathology"

urlpatterns = [
    path("", views.biopsy_list, name="biopsy_list"),
    path("participants/<int:participant_pk>/biopsies/new/", views.biopsy_new, name="biopsy_new"),
    path("biopsies/<int:biopsy_pk>/", views.biopsy_detail, name="biopsy_detail"),
    path("biopsies/<int:biopsy_pk>/edit/", views.biopsy_edit, name="biopsy_edit"),
    path("biopsies/<int:biopsy_pk>/scores/new/", views.ihc_score_new, name="ihc_score_new"),
    path("scores/<int:score_pk>/edit/", views.ihc_score_edit, name="ihc_score_edit"),
    path("analyses/", analysis_views.analyses, name="analyses"),
    path("analyses/plot.png", analysis_views.plot_png, name="analysis_png"),
    path("analyses/data.csv", analysis_views.plot_csv, name="analysis_csv"),
]
