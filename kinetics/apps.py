from django.apps import AppConfig


class KineticsConfig(AppConfig):
    name = "kinetics"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Tracer pharmacokinetics and biodistribution"

    def ready(self) -> None:
        from kinetics import hooks, services
        from trial import views
        from trial.write_gate import register_listener

        if hooks.participant_section not in views.PARTICIPANT_SECTIONS:
            views.PARTICIPANT_SECTIONS.append(hooks.participant_section)
        register_listener(services.refresh_on_write)
