from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "queries"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Data queries: manual and automatic, threads, states"
