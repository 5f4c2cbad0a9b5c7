from django.urls import path

from safety import views

app_name = "safety"

urlpatterns = [
    path("", views.ae_list, name="ae_list"),
    path("participants/<int:participant_pk>/aes/", views.participant_aes, name="participant_aes"),
    path("participants/<int:participant_pk>/aes/new/", views.ae_new, name="ae_new"),
    path("participants/<int:participant_pk>/sign/", views.ae_sign, name="ae_sign"),
    path("aes/<int:ae_pk>/", views.ae_detail, name="ae_detail"),
    path("aes/<int:ae_pk>/edit/", views.ae_edit, name="ae_edit"),
    path("aes/<int:ae_pk>/change-grade/", views.ae_change_grade, name="ae_change_grade"),
    path(
        "notifications/<int:notification_pk>/resend/", views.notification_resend, name="notification_resend"
    ),
    path("terms/search/", views.term_search, name="term_search"),
    path("terms/choose/", views.term_choose, name="term_choose"),
    path("tables/", views.tables, name="tables"),
    path("tables/csv/", views.tables_csv, name="tables_csv"),
    path("tables/max-grade-by-soc.png", views.tables_plot, name="tables_plot"),
]
