from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    default_auto_field = "django.db.models.BigAutoField"
