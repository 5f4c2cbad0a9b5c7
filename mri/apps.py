from django.apps import AppConfig


class MriConfig(AppConfig):
    name = "mri"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "mpMRI from DICOM: series, signal to concentration, parameter maps"

    def ready(self) -> None:
        from mri import hooks
        from trial import services as trial_services
        from trial import views as trial_views

        trial_views.PARTICIPANT_SECTIONS.append(hooks.participant_section)
        trial_views.VOIDABLE_MODELS.add("mri.mrroi")
        trial_services.VOID_HOOKS["mri.mrroi"] = hooks.on_roi_void
