from django.apps import AppConfig


class PathologyConfig(AppConfig):
    name = "pathology"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Pathology: biopsies, IHC scores and correlation analyses"

    def ready(self) -> None:
        from pathology import hooks
        from pathology.markers import load_markers, markers_loaded
        from trial import selectors, views
        from trial.reference_data import REFERENCE_LOADERS

        REFERENCE_LOADERS.append((markers_loaded, load_markers))
        selectors.TIMELINE_PROVIDERS.append(hooks.timeline_items)
        views.PARTICIPANT_SECTIONS.append(hooks.participant_section)
        views.VOIDABLE_MODELS.update({"pathology.biopsy", "pathology.ihcscore"})
