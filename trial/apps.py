from django.apps import AppConfig


class TrialConfig(AppConfig):
    name = "trial"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Trial: sites, participants, schedule, dosing, audit"

    def ready(self) -> None:
        from trial import audit_events

        audit_events.connect()
