from django.apps import AppConfig


class KineticsConfig(AppConfig):
    name = "kinetics"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Tracer pharmacokinetics and biodistribution"
