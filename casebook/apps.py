from django.apps import AppConfig


class CasebookConfig(AppConfig):
    name = "casebook"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Casebook: medications, history, vitals, labs, PK and ADA samples, disposition"

    def ready(self) -> None:
        from casebook import presentation
        from trial import views as trial_views

        if presentation.participant_section not in trial_views.PARTICIPANT_SECTIONS:
            trial_views.PARTICIPANT_SECTIONS.append(presentation.participant_section)
