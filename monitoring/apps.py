from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Monitoring: SDV, freeze and lock, casebook sign-off, data manager overview"
