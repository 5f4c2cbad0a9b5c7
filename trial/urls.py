from django.urls import path

from trial import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("participants/", views.participant_list, name="participant_list"),
    path("participants/new/", views.participant_enrol, name="participant_enrol"),
    path("participants/<int:participant_pk>/", views.participant_detail, name="participant_detail"),
    path("participants/<int:participant_pk>/status/", views.participant_status, name="participant_status"),
    path("participants/<int:participant_pk>/visits/<int:visit_pk>/", views.visit_record, name="visit_record"),
    path(
        "participants/<int:participant_pk>/tracer-doses/new/", views.tracer_dose_new, name="tracer_dose_new"
    ),
    path(
        "participants/<int:participant_pk>/anti-pd1-doses/new/",
        views.anti_pd1_dose_new,
        name="anti_pd1_dose_new",
    ),
    path(
        "records/<str:app_label>/<str:model_name>/<int:object_pk>/void/",
        views.record_void,
        name="record_void",
    ),
]
