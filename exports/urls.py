from django.urls import path

from exports import views

urlpatterns = [
    path("", views.index, name="exports_index"),
    path("start/", views.start, name="exports_start"),
    path("jobs/<int:job_id>/", views.job_status, name="exports_job_status"),
    path("jobs/<int:job_id>/download/", views.download, name="exports_download"),
    path("tokens/", views.tokens, name="exports_tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="exports_token_revoke"),
]
