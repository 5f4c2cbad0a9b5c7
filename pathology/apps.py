from django.apps import AppConfig


class PathologyConfig(AppConfig):
    name = "pathology"
    default_auto_field = "django.db.models.BigAutoField"
