from django.apps import AppConfig


class MriConfig(AppConfig):
    name = "mri"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "mpMRI from DICOM: series, signal to concentration, parameter maps"

    def ready(self) -> None:
        from mri import hooks
        from trial import views as trial_views

        trial_views.PARTICIPANT_SECTIONS.append(hooks.participant_section)
