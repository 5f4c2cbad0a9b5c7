from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "queries"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Data queries: manual and automatic, threads, states"

    def ready(self) -> None:
        from queries import automatic, export_resource, hooks  # noqa: F401 - export_resource registers
        from trial import views as trial_views
        from trial.write_gate import register_listener

        register_listener(automatic.on_write)
        if hooks.dashboard_panel not in trial_views.DASHBOARD_PANELS:
            trial_views.DASHBOARD_PANELS.append(hooks.dashboard_panel)
        if hooks.participant_section not in trial_views.PARTICIPANT_SECTIONS:
            trial_views.PARTICIPANT_SECTIONS.append(hooks.participant_section)
