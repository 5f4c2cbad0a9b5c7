from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "safety"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Safety: CTCAE v5.0 adverse events, SAE notification, investigator sign-off"

    def ready(self) -> None:
        from safety import ctcae, presentation, services
        from trial import selectors as trial_selectors
        from trial import services as trial_services
        from trial import views as trial_views
        from trial.reference_data import REFERENCE_LOADERS

        if (ctcae.is_loaded, ctcae.load) not in REFERENCE_LOADERS:
            REFERENCE_LOADERS.append((ctcae.is_loaded, ctcae.load))
        trial_views.VOIDABLE_MODELS.add("safety.adverseevent")
        trial_services.VOID_HOOKS["safety.adverseevent"] = services.on_ae_void_or_restore
        if presentation.participant_section not in trial_views.PARTICIPANT_SECTIONS:
            trial_views.PARTICIPANT_SECTIONS.append(presentation.participant_section)
        if presentation.timeline_items not in trial_selectors.TIMELINE_PROVIDERS:
            trial_selectors.TIMELINE_PROVIDERS.append(presentation.timeline_items)
        if presentation.dashboard_panel not in trial_views.DASHBOARD_PANELS:
            trial_views.DASHBOARD_PANELS.append(presentation.dashboard_panel)
