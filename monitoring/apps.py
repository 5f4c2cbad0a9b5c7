from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Monitoring: SDV, freeze and lock, casebook sign-off, data manager overview"

    def ready(self) -> None:
        from monitoring import hooks
        from monitoring.export_resources import register_sdv_resource
        from monitoring.services import lock_guard, record_refusal, sdv_on_write, signature_on_write
        from trial import views as trial_views
        from trial.write_gate import register_guard, register_listener, register_refusal_recorder

        register_guard(lock_guard)
        register_listener(sdv_on_write)
        register_listener(signature_on_write)
        register_refusal_recorder(record_refusal)
        register_sdv_resource()
        if hooks.participant_section not in trial_views.PARTICIPANT_SECTIONS:
            trial_views.PARTICIPANT_SECTIONS.append(hooks.participant_section)
        if hooks.missing_forms_section not in trial_views.PARTICIPANT_SECTIONS:
            trial_views.PARTICIPANT_SECTIONS.append(hooks.missing_forms_section)
