from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from imaging import hooks
        from trial import selectors as trial_selectors
        from trial import services as trial_services
        from trial import views as trial_views

        trial_views.PARTICIPANT_SECTIONS.append(hooks.participant_section)
        trial_selectors.TIMELINE_PROVIDERS.append(hooks.timeline_items)
        trial_views.VOIDABLE_MODELS.add("imaging.voi")
        trial_services.VOID_HOOKS["imaging.voi"] = hooks.on_voi_void
