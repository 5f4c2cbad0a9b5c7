from django.apps import AppConfig


def _upload_void_hook(*, ctx, instance) -> None:
    from imaging.services import on_upload_void

    on_upload_void(ctx=ctx, instance=instance)


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
        trial_views.VOIDABLE_MODELS.add("imaging.linkedct")
        trial_views.VOIDABLE_MODELS.add("imaging.seriesupload")
        trial_services.VOID_HOOKS["imaging.seriesupload"] = _upload_void_hook
        trial_services.VOID_HOOKS["imaging.voi"] = hooks.on_voi_void
        from trial.write_gate import register_listener

        register_listener(hooks.plan_scans_for_visit)
