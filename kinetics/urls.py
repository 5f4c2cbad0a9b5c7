from django.urls import path

from kinetics import views

app_name = "kinetics"

urlpatterns = [
    path("cohort/", views.cohort_page, name="cohort"),
    path("cohort/plot.png", views.cohort_plot, name="cohort_plot"),
    path("cohort/data.csv", views.cohort_csv, name="cohort_csv"),
    path("participants/<int:participant_pk>/", views.participant, name="participant"),
    path("participants/<int:participant_pk>/curves.png", views.participant_plot, name="participant_plot"),
    path("participants/<int:participant_pk>/series.csv", views.series_csv, name="series_csv"),
    path("participants/<int:participant_pk>/tiac/", views.tiac_export, name="tiac_export"),
    path("participants/<int:participant_pk>/parameters/", views.parameters_store, name="parameters_store"),
]
