from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("locks/", views.locks, name="locks"),
    path("locks/<int:lock_pk>/release/", views.lock_release, name="lock_release"),
    path("final-export/", views.final_export, name="final_export"),
    path("participants/<int:participant_pk>/lock/", views.participant_lock, name="participant_lock"),
    path("participants/<int:participant_pk>/sdv/", views.sdv_participant, name="sdv_participant"),
    path("participants/<int:participant_pk>/sdv/verify/", views.sdv_verify, name="sdv_verify"),
    path("participants/<int:participant_pk>/sign/", views.casebook_sign, name="casebook_sign"),
    path("sdv/", views.sdv_worklist, name="sdv_worklist"),
    path("signatures/", views.investigator_queue, name="investigator_queue"),
    path("missing-forms/", views.missing_forms, name="missing_forms"),
    path("overview/", views.data_manager_overview, name="overview"),
]
