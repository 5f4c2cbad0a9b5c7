from django.apps import AppConfig


class LesionsConfig(AppConfig):
    name = "lesions"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Lesions: registry, RECIST/iRECIST responses, MRI parameters"

    def ready(self) -> None:
        from lesions import hooks
        from trial import selectors as trial_selectors
        from trial import services as trial_services
        from trial import views as trial_views

        trial_selectors.TIMELINE_PROVIDERS.append(hooks.timeline)
        trial_views.PARTICIPANT_SECTIONS.append(hooks.participant_section)
        for name in ("lesion", "assessment", "measurement"):
            trial_views.VOIDABLE_MODELS.add(f"lesions.{name}")
            trial_services.VOID_HOOKS[f"lesions.{name}"] = hooks.on_void
        trial_views.VOIDABLE_MODELS.update({"lesions.mriparameterset", "lesions.maskanalysis"})
