from django.apps import AppConfig


class MriConfig(AppConfig):
    name = "mri"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "mpMRI from DICOM: series, signal to concentration, parameter maps"
