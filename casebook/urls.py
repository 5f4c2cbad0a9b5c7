from django.urls import path

from casebook import views

app_name = "casebook"

urlpatterns = [
    path("participants/<int:participant_pk>/<slug:slug>/", views.record_list, name="record_list"),
    path("participants/<int:participant_pk>/<slug:slug>/new/", views.record_new, name="record_new"),
    path("records/<slug:slug>/<int:pk>/edit/", views.record_edit, name="record_edit"),
    path("records/<slug:slug>/<int:pk>/void/", views.record_void, name="record_void"),
    path("screening-log/", views.screening_log, name="screening_log"),
]
