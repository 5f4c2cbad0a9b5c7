from django.apps import AppConfig


class CasebookConfig(AppConfig):
    name = "casebook"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Casebook: medications, history, vitals, labs, PK and ADA samples, disposition"
