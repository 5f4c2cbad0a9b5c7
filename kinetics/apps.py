from django.apps import AppConfig


class KineticsConfig(AppConfig):
    name = "kinetics"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Tracer pharmacokinetics and biodistribution"

    def ready(self) -> None:
        from kinetics import hooks
        from trial import views

        if hooks.participant_section not in views.PARTICIPANT_SECTIONS:
            views.PARTICIPANT_SECTIONS.append(hooks.participant_section)
