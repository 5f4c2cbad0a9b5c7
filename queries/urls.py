from django.urls import path

from queries import views

app_name = "queries"

urlpatterns = [
    path("", views.query_list, name="query_list"),
    path("new/", views.query_new, name="query_new"),
    path("participants/<int:participant_pk>/", views.participant_queries, name="participant_queries"),
    path("sites/<str:site_code>/", views.site_queries, name="site_queries"),
    path("<int:query_pk>/", views.query_detail, name="query_detail"),
    path("<int:query_pk>/answer/", views.query_answer, name="query_answer"),
    path("<int:query_pk>/close/", views.query_close, name="query_close"),
    path("<int:query_pk>/reopen/", views.query_reopen, name="query_reopen"),
]
