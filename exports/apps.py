from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Sponsor exports: API, ODM, SDTM, bulk"

    def ready(self) -> None:
        from exports import schema  # noqa: F401  (registers the token auth OpenAPI extension)
